// System Controls: maintenance mode (live), health, backups, circuit breakers, storage and
// system information; every SystemControls action from its form.

import * as api from "../api.js";
import { actionButton, actionDialog, actionsPanel, may, read } from "../actions.js";
import { badge, button, clear, facts, fmt, h, keepFocus, panel, shortId, table } from "../dom.js";

function failure(error) {
  return h("p", { class: error.status === 403 ? "muted" : "error" }, `${error.code}: ${error.message}`);
}

// A panel whose body is loaded on demand (and at mount) by a read.
function loader(title, load, render, { auto = true } = {}) {
  const body = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, auto ? "Loading\u2026" : "Not loaded yet."));
  async function run() {
    try {
      const value = await load();
      keepFocus(body, () => clear(body, render(value, run)));
    } catch (error) {
      clear(body, failure(error));
    }
  }
  if (auto) run();
  return { el: panel(title, body, button(`Reload ${title.toLowerCase()}`, run, { class: "small secondary", "data-fk": `reload-${title}` })), run };
}

function healthView(result) {
  return [h("p", {}, "Overall: ", badge(result.status)), table({
    caption: "Health by part",
    columns: [
      { label: "Part", cell: ([name]) => name },
      { label: "Status", cell: ([, p]) => badge(p.status) },
      { label: "Required", cell: ([, p]) => fmt.value(p.required) },
      { label: "Latency", class: "num", cell: ([, p]) => (p.latency_ms == null ? "-" : `${fmt.num(p.latency_ms, 2)} ms`) },
      { label: "Backend", class: "wrap", cell: ([, p]) => p.backend || "-" },
      { label: "Detail", class: "wrap", cell: ([, p]) => p.detail || "-" },
    ],
    rows: Object.entries(result.parts || {}),
  })];
}

function backupsView(result, reload) {
  return [h("p", { class: "muted" }, `${(result.backups || []).length} backups, ${fmt.bytes(result.total_bytes)} in ${result.directory}`),
    h("div", { class: "toolbar" }, actionButton("Create backup", "system.backup", {}, { done: reload })),
    table({
      caption: "Backups",
      columns: [
        { label: "Backup", cell: (b) => h("span", { class: "mono", title: b.id }, shortId(b.id)) },
        { label: "Label", cell: (b) => b.label || "-" },
        { label: "Finished", cell: (b) => fmt.time(b.finished_at) },
        { label: "Size", class: "num", cell: (b) => fmt.bytes(b.size_bytes) },
        { label: "SHA-256", class: "mono", cell: (b) => String(b.sha256 || "-").slice(0, 12) },
        { label: "", cell: (b) => h("div", { class: "row-actions" },
          actionButton("Verify", "system.backup.verify", { backup_id: b.id }, { done: reload }),
          actionButton("Restore", "system.restore", { backup_id: b.id }),
          actionButton("Delete", "system.backup.delete", { backup_id: b.id }, { done: reload })) },
      ],
      rows: result.backups || [], rowKey: (b) => b.id, empty: "No backups yet.",
    })];
}

function breakersView(breakers, reload) {
  return table({
    caption: "Circuit breakers",
    columns: [
      { label: "Dependency", cell: (b) => b.name },
      { label: "State", cell: (b) => badge(b.state) },
      { label: "Failures", class: "num", cell: (b) => String(b.failures) },
      { label: "Opened", cell: (b) => fmt.time(b.opened_at) },
      { label: "Forced", cell: (b) => fmt.value(b.forced) },
      { label: "", cell: (b) => h("div", { class: "row-actions" },
        b.state !== "closed" ? actionButton("Reset", "system.circuit.reset", { name: b.name }, { done: reload }) : null,
        b.state !== "open" ? actionButton("Trip", "system.circuit.trip", { name: b.name }, { done: reload }) : null) },
    ],
    rows: breakers, rowKey: (b) => b.name,
  });
}

function storageView(result) {
  return [facts([["Used by AgentOS", fmt.bytes(result.total_bytes)], ["Disk free", `${fmt.bytes(result.disk_free_bytes)} of ${fmt.bytes(result.disk_total_bytes)}`]]),
    table({
      caption: "Storage by area",
      columns: [
        { label: "Area", cell: ([name]) => name },
        { label: "Files", class: "num", cell: ([, a]) => String(a.files) },
        { label: "Size", class: "num", cell: ([, a]) => fmt.bytes(a.bytes) },
        { label: "Path", class: "wrap mono", cell: ([, a]) => a.path },
      ],
      rows: Object.entries(result.areas || {}),
    })];
}

function infoView(result) {
  return facts([["Version", result.version], ["Python", result.python], ["Deployment", result.deployment],
    ["Host", `${result.hostname} (pid ${result.pid})`], ["Up since", `${fmt.time(result.started_at)} (${fmt.num(result.uptime_s / 3600, 1)} h)`],
    ["Schema", `${result.schema_revision} (head ${result.schema_head})`],
    ["Backends", Object.entries(result.backends || {}).map(([k, v]) => `${k}: ${v}`).join(", ")],
    ["Libraries", Object.entries(result.libraries || {}).map(([k, v]) => `${k} ${v}`).join(", ")]]);
}

function maintenanceView(m) {
  return panel("Maintenance mode",
    m?.enabled
      ? h("p", {}, badge("on"), ` "${m.message || ""}" since ${fmt.time(m.since)} by ${m.by || "-"}; user writes answer 503 (retry after ${m.retry_after_s} s).`)
      : h("p", {}, badge("off"), " Normal service."),
    h("div", { class: "toolbar" }, m?.enabled
      ? actionButton("Turn maintenance off", "system.maintenance.disable", {})
      : (may("system.maintenance.enable") ? button("Turn maintenance on\u2026", () => actionDialog("system.maintenance.enable"), { class: "small", "data-action": "system.maintenance.enable" }) : null)));
}

export function mount({ root, title }) {
  const maintenance = h("div");
  const health = loader("Health", () => read("system.health.check"), healthView);
  const backups = loader("Backups", () => read("system.backup.list"), backupsView);
  const breakers = loader("Circuit breakers", async () => (await api.get("/api/admin/action/status", { recent: 1, window_hours: 1 })).data.breakers, breakersView);
  const storage = loader("Storage", () => read("system.storage.usage"), storageView, { auto: false });
  const info = loader("System information", () => read("system.info"), infoView, { auto: false });
  clear(root, h("h1", {}, title), maintenance, h("div", { class: "split" }, health.el, breakers.el), backups.el,
    h("div", { class: "split" }, storage.el, info.el), actionsPanel("SystemControls", "Every system control; dangerous ones show a dry run first."));
  return {
    update(doc) { keepFocus(maintenance, () => clear(maintenance, maintenanceView(doc.dashboard?.maintenance))); },
    event(message) { if (String(message.kind || "").startsWith("breaker")) breakers.run(); },
  };
}
