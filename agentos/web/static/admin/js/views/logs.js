// System Logs: system events (live from the document, or searched), structured log records
// and the audit trail, each searched on the server through its read action.

import { actionButton, actionDialog, actionsPanel, may, perform, read, showResult } from "../actions.js";
import { badge, button, clear, fmt, h, keepFocus, panel, shortId, table } from "../dom.js";
import { field } from "../shell.js";

const SEVERITIES = ["debug", "info", "warning", "error", "critical"];
const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];

function searchForm(label, fields, onSearch) {
  const form = h("form", { class: "filters", role: "search", "aria-label": label }, fields,
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Search")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const payload = {};
    for (const [key, value] of new FormData(form).entries()) {
      const text = String(value).trim();
      if (text !== "") payload[key] = key === "acknowledged" ? text === "yes" : text;
    }
    onSearch(payload);
  });
  return form;
}

const text = (name, label, props = {}) => field(label, h("input", { name, ...props }));
const choice = (name, label, options) => field(label, h("select", { name }, h("option", { value: "" }, "(any)"), options.map((o) => h("option", { value: o }, o))));

function eventsTable(events, caption) {
  return table({
    caption,
    columns: [
      { label: "When", cell: (e) => fmt.time(e.created_at) },
      { label: "Severity", cell: (e) => badge(e.severity, "sev") },
      { label: "Source", cell: (e) => e.source },
      { label: "Kind", cell: (e) => e.kind },
      { label: "Message", class: "wrap", cell: (e) => e.message },
      { label: "Job", cell: (e) => (e.job_id ? h("a", { href: `#/jobs/${e.job_id}`, class: "mono" }, shortId(e.job_id)) : "-") },
      { label: "", cell: (e) => ((e.acknowledged || e.acknowledged_by) ? h("span", { class: "muted" }, "acknowledged")
        : actionButton("Acknowledge", "dashboard.alert.ack", { event_id: e.id }, { ariaLabel: `Acknowledge: ${e.message}` })) },
    ],
    rows: events, rowKey: (e) => e.id, empty: "No events.",
  });
}

function logsTable(records) {
  return table({
    caption: "Log records, newest first",
    columns: [
      { label: "When", cell: (r) => fmt.time(r.created_at) },
      { label: "Level", cell: (r) => badge(r.level.toLowerCase(), "sev") },
      { label: "Source", cell: (r) => r.source },
      { label: "Logger", class: "wrap", cell: (r) => r.logger },
      { label: "Message", class: "wrap mono", cell: (r) => r.message },
      { label: "Job", cell: (r) => (r.job_id ? h("a", { href: `#/jobs/${r.job_id}`, class: "mono" }, shortId(r.job_id)) : "-") },
    ],
    rows: records, empty: "No log records match.",
  });
}

function auditTable(records) {
  return table({
    caption: "Audit records (PII scrubbed), newest first",
    columns: [
      { label: "Seq", class: "num", cell: (r) => String(r.seq) },
      { label: "When", cell: (r) => fmt.time(r.created_at) },
      { label: "Actor", cell: (r) => `${r.actor_name || "-"} (${r.role || "-"})` },
      { label: "Source", cell: (r) => badge(r.source, "src") },
      { label: "Action", cell: (r) => r.action },
      { label: "Outcome", cell: (r) => badge(r.outcome || (r.success ? "ok" : "error")) },
      { label: "Trace", class: "mono", cell: (r) => (r.trace_id ? String(r.trace_id).slice(0, 12) : "-") },
    ],
    rows: records, rowKey: (r) => String(r.seq), empty: "No audit records match.",
  });
}

// Results of a search action, with an "Older" button that follows the action's cursor.
function searcher(name, render, cursorOf) {
  const out = h("div", { "aria-live": "polite" });
  let last = {};
  let rows = [];
  async function run(payload, more = false) {
    last = payload;
    try {
      const result = await read(name, payload);
      const found = result.records || result.events || [];
      rows = more ? rows.concat(found) : found;
      const cursor = cursorOf(result, found);
      keepFocus(out, () => clear(out, render(rows),
        cursor ? button("Older", () => run({ ...last, ...cursor }, true), { class: "secondary small", "data-fk": `older-${name}` }) : null));
    } catch (error) {
      clear(out, h("p", { class: "error", role: "alert" }, `${error.code}: ${error.message}`));
    }
  }
  return { out, run };
}

export function mount({ root, title }) {
  const liveEvents = h("div");
  const found = searcher("events.list", (rows) => eventsTable(rows, "Matching events"), () => null);
  const logs = searcher("logs.search", logsTable, (r) => (r.next_cursor ? { before: r.next_cursor } : null));
  const audit = searcher("audit.search", auditTable, (r, rows) => (rows.length ? { before_seq: rows[rows.length - 1].seq } : null));
  const sections = {
    events: panel("System events",
      searchForm("Search events", [choice("min_severity", "At least", SEVERITIES), text("query", "Text"), text("source", "Source"),
        choice("acknowledged", "Acknowledged", ["yes", "no"]), text("job_id", "Job id")], (p) => found.run({ limit: 100, ...p })),
      found.out, h("h3", {}, "Latest events (live)"), liveEvents,
      h("div", { class: "toolbar" }, may("events.emit") ? button("Add an operator note\u2026", () => actionDialog("events.emit"), { class: "small", "data-action": "events.emit" }) : null)),
    logs: panel("Log records",
      searchForm("Search log records", [text("query", "Text"), choice("level", "Level at least", LEVELS), text("source", "Process"),
        text("logger", "Logger"), text("job_id", "Job id"), text("trace_id", "Trace id"), text("since", "Since (ISO time)")], (p) => logs.run({ limit: 100, ...p })),
      logs.out),
    audit: panel("Audit trail",
      searchForm("Search the audit trail", [text("actor", "Actor"), text("action", "Action"), choice("outcome", "Outcome", ["success", "error", "denied"]),
        text("since", "Since (ISO time)")], (p) => audit.run({ limit: 50, ...p })),
      h("div", { class: "toolbar" }, may("audit.verify") ? button("Verify the hash chain", async (event) => {
        const result = await perform("audit.verify", {}, { button: event.currentTarget });
        if (result) showResult("audit.verify", result);
      }, { class: "small", "data-action": "audit.verify" }) : null),
      audit.out),
  };
  const body = h("div");
  const tabs = h("div", { class: "segmented", role: "group", "aria-label": "What to show" });
  function show(key) {
    clear(tabs, Object.keys(sections).map((k) => button({ events: "Events", logs: "Log records", audit: "Audit trail" }[k],
      () => show(k), { "aria-pressed": String(k === key), class: "secondary", "data-fk": `tab-${k}` })));
    clear(body, sections[key]);
    if (key === "logs" && !logs.out.childElementCount) logs.run({ limit: 100 });
    if (key === "audit" && !audit.out.childElementCount && may("audit.search")) audit.run({ limit: 50 });
  }
  const failed = h("div");
  clear(root, h("h1", {}, title), tabs, body, failed, actionsPanel("SystemLogs"));
  show("events");
  return {
    update(doc) {
      keepFocus(liveEvents, () => clear(liveEvents, eventsTable((doc.logs?.recent_events || []).slice(0, 25), "Latest 25 events")));
      const jobs = doc.logs?.failed_jobs || [];
      keepFocus(failed, () => clear(failed, panel(`Recently failed jobs (${jobs.length})`, table({
        caption: "Recently failed jobs",
        columns: [
          { label: "Job", cell: (j) => h("a", { href: `#/jobs/${j.id}` }, j.title || shortId(j.id)) },
          { label: "Error", class: "wrap", cell: (j) => `${j.error_code || ""} ${j.error || ""}` },
          { label: "Finished", cell: (j) => fmt.time(j.finished_at) },
        ],
        rows: jobs, empty: "No failed jobs.",
      }))));
    },
  };
}
