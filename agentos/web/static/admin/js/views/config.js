// Configuration: the runtime settings in force (config.get), editable where settable
// (config.set, validated and applied live), reset, history, export and import.

import { actionDialog, actionsPanel, may, perform, read, showResult } from "../actions.js";
import { badge, button, clear, fmt, h, keepFocus, panel, table, throttle } from "../dom.js";
import { field, openDialog } from "../shell.js";

async function edit(setting, reload) {
  const input = h("textarea", { name: "value", rows: "3", class: "mono", required: true }, JSON.stringify(setting.value, null, 2));
  const answer = await openDialog({
    title: `Set ${setting.name}`,
    body: [h("p", {}, `Now ${fmt.value(setting.value)} (${setting.source}). The value is JSON: a number, "a string", true, a list or an object.`),
      field("New value", input)],
    actions: [{ label: "Set", value: "set" }],
    validate: () => { try { JSON.parse(input.value); return null; } catch (error) { return `Not JSON: ${error.message}`; } },
  });
  if (!answer) return;
  if (await perform("config.set", { key: setting.name, value: JSON.parse(input.value) })) reload();
}

async function history(name, el) {
  const result = await perform("config.history", { key: name, limit: 50 }, { button: el });
  if (result) showResult(`config.history ${name}`, result);
}

function settingsTable(effective, reload) {
  const canSet = may("config.set");
  return table({
    caption: "Settings in force",
    columns: [
      { label: "Setting", class: "mono", cell: (s) => s.name },
      { label: "Value", class: "wrap mono", cell: (s) => fmt.value(s.value) },
      { label: "Source", cell: (s) => badge(s.source, "src") },
      { label: "", cell: (s) => (s.settable ? h("div", { class: "row-actions" },
        canSet ? button("Edit", () => edit(s, reload), { class: "small", "data-action": "config.set", "aria-label": `Edit ${s.name}` }) : null,
        may("config.reset") && s.source === "runtime" ? button("Reset", async (event) => {
          if (await perform("config.reset", { key: s.name }, { button: event.currentTarget, confirm: `Reset ${s.name} to its default?` })) reload();
        }, { class: "small", "data-action": "config.reset", "aria-label": `Reset ${s.name}` }) : null,
        may("config.history") ? button("History", (event) => history(s.name, event.currentTarget), { class: "small secondary", "data-action": "config.history", "aria-label": `History of ${s.name}` }) : null)
        : h("span", { class: "muted" }, "fixed at start")) },
    ],
    rows: effective, rowKey: (s) => s.name,
  });
}

export function mount({ root, title }) {
  const box = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Loading\u2026"));
  const filter = h("input", { type: "search", name: "filter", placeholder: "e.g. ttl" });
  let settings = [];
  let deployment = "";
  function render() {
    const needle = filter.value.trim().toLowerCase();
    const rows = settings.filter((s) => !needle || s.name.toLowerCase().includes(needle));
    keepFocus(box, () => clear(box, h("p", { class: "muted" }, `${deployment} deployment \u00b7 ${rows.length} of ${settings.length} settings`), settingsTable(rows, reloadSoon)));
  }
  async function load() {
    try {
      const result = await read("config.get");
      settings = result.effective || [];
      deployment = result.deployment || "";
      render();
    } catch (error) {
      clear(box, h("p", { class: error.status === 403 ? "notice" : "error", role: "alert" }, `${error.code}: ${error.message}`));
    }
  }
  const reloadSoon = throttle(load, 1000);
  filter.addEventListener("input", render);
  const tools = h("div", { class: "toolbar" },
    may("config.export") ? button("Export", async (event) => {
      const result = await perform("config.export", {}, { button: event.currentTarget });
      if (result) showResult("config.export", result);
    }, { class: "small", "data-action": "config.export" }) : null,
    may("config.import") ? button("Import\u2026", () => actionDialog("config.import", { dry_run: true }), { class: "small", "data-action": "config.import" }) : null);
  clear(root, h("h1", {}, title), panel("Runtime configuration", field("Show settings containing", filter), tools, box), actionsPanel("Configuration"));
  load();
  return { event(message) { if (String(message.kind || "").startsWith("config")) reloadSoon(); } };
}
