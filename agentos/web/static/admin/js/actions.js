// Admin actions from buttons, with the same rules as the CLI and the TUI: dangerous actions
// show their dry run and need a confirmation and a reason; every submit carries an
// Idempotency-Key (a double click reuses the one in flight, so it never runs twice); errors
// show their code and message. The catalog (GET /api/admin/action/status) says which
// actions exist, their payload schema, and whether this user's role may run each.

import * as api from "./api.js";
import { button, fmt, h, panel, pre } from "./dom.js";
import { field, openDialog, refocus, toast, toastError } from "./shell.js";

const catalog = new Map();
const inFlight = new Map(); // intent -> idempotency key, while its request runs
const HIDDEN_FIELDS = new Set(["confirm", "reason"]); // and dry_run of dangerous actions

export async function loadCatalog() {
  catalog.clear();
  try {
    const answer = await api.get("/api/admin/action/status", { recent: 1, window_hours: 1 });
    for (const info of answer.data.catalog) catalog.set(info.name, info);
    return answer.data;
  } catch (error) {
    if (error.status !== 403) toastError(error, "Loading the action catalog");
    return null; // no catalog: no write buttons (a readonly viewer)
  }
}

export function info(name) { return catalog.get(name); }

// Whether to show a button for `name`: the server's role table said this user may run it.
export function may(name) { return catalog.get(name)?.allowed === true; }

export function ofView(view) {
  return [...catalog.values()].filter((a) => a.view === view && a.allowed === true);
}

// Runs one read action (no dialogs); throws ApiError.
export async function read(name, payload = {}) {
  return (await api.action(name, payload)).result;
}

function reasonField(required) {
  const input = h("textarea", { name: "reason", rows: "2", maxlength: "500", required });
  return field(required ? "Reason (required, kept in the audit record)" : "Reason (optional, kept in the audit record)", input);
}

async function submit(name, payload) {
  const intent = `${name}|${JSON.stringify(payload)}`;
  let key = inFlight.get(intent);
  if (!key) { key = api.uuid4(); inFlight.set(intent, key); }
  try {
    return await api.action(name, payload, key);
  } finally {
    inFlight.delete(intent);
  }
}

// Runs `name`; resolves with the ActionResponse, or null if cancelled or refused.
// options: {confirm: "question" for a simple confirmation, title, button: element to disable}
export async function perform(name, payload = {}, options = {}) {
  const spec = catalog.get(name);
  const button = options.button;
  const opener = button || document.activeElement;
  // Disabled only while a request runs (a second click then does nothing; a dialog may
  // still give the focus back to it).
  const busy = async (body) => {
    if (button) button.disabled = true;
    try { return await submit(name, body); } finally { if (button) button.disabled = false; }
  };
  try {
    let body = { ...payload };
    if (spec?.dangerous) {
      const preview = await busy({ ...body, dry_run: true });
      const answer = await openDialog({
        title: options.title || `Run ${name}?`,
        wide: true,
        returnFocus: opener,
        body: [
          h("p", {}, h("strong", {}, "This action is dangerous. "), spec.summary),
          h("p", {}, "Dry run (nothing was changed):"), pre(preview.result), reasonField(true),
        ],
        actions: [{ label: `Run ${name}`, value: "run", danger: true }],
      });
      if (!answer) return null;
      body = { ...body, confirm: true, reason: answer.form.elements.reason.value.trim() };
    } else if (options.confirm) {
      const answer = await openDialog({
        title: options.title || `Run ${name}?`,
        returnFocus: opener,
        body: [h("p", {}, options.confirm), reasonField(false)],
        actions: [{ label: options.confirmLabel || "Confirm", value: "run", danger: true }],
      });
      if (!answer) return null;
      const reason = answer.form.elements.reason.value.trim();
      if (reason) body.reason = reason;
    }
    const result = await busy(body);
    if (!spec?.read_only) toast(`${name}: done${result.replayed ? " (replayed)" : ""}`, "ok");
    return result;
  } catch (error) {
    toastError(error, name);
    return null;
  } finally {
    if (!document.activeElement || document.activeElement === document.body) refocus(opener);
  }
}

// A button that runs `name` with `payload` (only when this user may run it).
export function actionButton(label, name, payload, options = {}) {
  if (!may(name)) return null;
  const el = button(label, async () => {
    const result = await perform(name, payload, { ...options, button: el });
    if (result && options.done) options.done(result);
  }, { class: options.danger || catalog.get(name)?.dangerous ? "small danger" : "small", "data-action": name, "aria-label": options.ariaLabel });
  return el;
}

function resolve(schema, root) {
  if (schema && schema.$ref) return resolve(root.$defs?.[schema.$ref.split("/").pop()] || {}, root);
  if (schema && schema.anyOf) {
    const real = schema.anyOf.filter((s) => s.type !== "null");
    if (real.length === 1) return { ...schema, ...resolve(real[0], root), anyOf: undefined, nullable: true };
  }
  return schema || {};
}

function inputFor(name, prop, required, preset) {
  const value = preset ?? prop.default ?? null;
  if (prop.enum) {
    return h("select", { name, required }, required ? null : h("option", { value: "" }, "(any)"),
      prop.enum.map((v) => h("option", { value: v, selected: v === value }, v)));
  }
  if (prop.type === "boolean") return h("input", { type: "checkbox", name, checked: Boolean(value) });
  if (prop.type === "integer" || prop.type === "number") {
    return h("input", { type: "number", name, required, value: value ?? "", step: prop.type === "integer" ? "1" : "any",
      min: prop.minimum ?? prop.exclusiveMinimum, max: prop.maximum ?? prop.exclusiveMaximum });
  }
  if (prop.type === "object" || prop.type === "array" || !prop.type) {
    return h("textarea", { name, required, rows: "4", "data-json": "1", class: "mono" }, value === null ? "" : JSON.stringify(value, null, 2));
  }
  return h("input", { type: "text", name, required, value: value ?? "", maxlength: prop.maxLength,
    placeholder: prop.format === "date-time" ? "2026-01-01T00:00:00Z" : prop.format === "uuid" ? "UUID" : null });
}

function collect(form, props) {
  const payload = {};
  for (const [name, prop] of props) {
    const el = form.elements[name];
    if (!el) continue;
    if (prop.type === "boolean") { payload[name] = el.checked; continue; }
    const text = el.value.trim();
    if (text === "") continue;
    if (el.dataset.json) payload[name] = JSON.parse(text);
    else if (prop.type === "integer" || prop.type === "number") payload[name] = Number(text);
    else payload[name] = text;
  }
  return payload;
}

// A form built from the action's payload schema; runs it through `perform`.
export async function actionDialog(name, preset = {}) {
  const spec = catalog.get(name);
  if (!spec) return null;
  const schema = spec.payload_schema || {};
  const required = new Set(schema.required || []);
  const props = Object.entries(schema.properties || {})
    .filter(([key]) => !HIDDEN_FIELDS.has(key) && !(spec.dangerous && key === "dry_run"))
    .map(([key, prop]) => [key, resolve(prop, schema)]);
  const fields = props.map(([key, prop]) => field(`${prop.title || key}${required.has(key) ? " *" : ""}`,
    inputFor(key, prop, required.has(key), preset[key]), prop.description));
  const answer = await openDialog({
    title: name,
    body: [h("p", {}, spec.summary), fields.length ? fields : h("p", { class: "muted" }, "No parameters.")],
    actions: [{ label: spec.dangerous ? "Dry run first" : "Run", value: "run", danger: spec.dangerous }],
    validate: (form) => {
      try { collect(form, props); return null; } catch (error) { return `Not valid JSON: ${error.message}`; }
    },
  });
  if (!answer) return null;
  const result = await perform(name, collect(answer.form, props));
  if (result && (spec.read_only || Object.keys(result.result || {}).length)) showResult(name, result);
  return result;
}

export function showResult(name, result) {
  return openDialog({ title: `${name} result`, wide: true, body: [pre(result.result)], actions: [] });
}

// "Actions" panel: every action of `view` this user may run, each opening its form.
export function actionsPanel(view, note) {
  const list = ofView(view);
  if (!list.length) return null;
  return panel(`${view} actions (${list.length})`,
    note ? h("p", { class: "muted" }, note) : null,
    h("ul", { class: "action-list" }, list.map((a) => h("li", {},
      button(a.name, () => actionDialog(a.name), { class: a.dangerous ? "small danger" : "small", "data-action": a.name }),
      h("span", { class: "muted" }, ` ${a.summary}${a.dangerous ? " (dangerous)" : ""} \u00b7 ${a.rate_limit}/${fmt.num(a.rate_window_s)} s`)))));
}
