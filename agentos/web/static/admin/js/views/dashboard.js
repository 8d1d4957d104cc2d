// Dashboard: the SSOT document's dashboard section, live; alerts to acknowledge; queue
// pause/resume and a cache rebuild.

import { actionButton, actionsPanel } from "../actions.js";
import { card, clear, fmt, h, keepFocus, panel, table, badge } from "../dom.js";

const STATUSES = ["pending", "queued", "processing", "completed", "failed", "cancelled"];

function banners(d) {
  const out = [];
  if (d.maintenance?.enabled) {
    out.push(h("p", { class: "banner warn", role: "status" },
      `Maintenance mode is on: "${d.maintenance.message || ""}" (since ${fmt.time(d.maintenance.since)}, by ${d.maintenance.by || "-"}).`));
  }
  if (d.queue_paused) out.push(h("p", { class: "banner warn" }, "The queue is paused: no new work is dispatched."));
  for (const warning of d.warnings || []) out.push(h("p", { class: "banner" }, String(warning)));
  return out;
}

function cards(d) {
  const item = (key, label, value, note) => {
    const el = card(label, value, note);
    el.dataset.key = key;
    return el;
  };
  return h("div", { class: "cards" },
    item("total_jobs", "Jobs", d.total_jobs),
    item("active_jobs", "Active (queued + processing)", d.active_jobs),
    item("pending", "Pending", d.jobs_by_status?.pending ?? 0),
    item("completed_today", "Completed today", d.completed_today),
    item("failed_today", "Failed today", d.failed_today),
    item("throughput_per_hour", "Throughput", `${d.throughput_per_hour}/h`),
    item("error_rate", "Error rate", fmt.pct(d.error_rate)),
    item("total_clips", "Clips", d.total_clips),
    item("agents", "Agents enabled", `${d.agents_enabled} / ${d.agents_total}`),
    item("workers_online", "Workers online", d.workers_online),
    item("unacknowledged_errors", "Unacknowledged errors", d.unacknowledged_errors));
}

function statusTable(d) {
  const total = Math.max(1, d.total_jobs || 0);
  return table({
    caption: "Jobs by status",
    columns: [
      { label: "Status", cell: (s) => badge(s) },
      { label: "Jobs", class: "num", cell: (s) => h("span", { "data-status": s }, String(d.jobs_by_status?.[s] ?? 0)) },
      { label: "Share", class: "bar-cell", cell: (s) => {
        const bar = h("span", { class: `bar status-${s}`, "aria-hidden": "true" });
        bar.style.width = `${((d.jobs_by_status?.[s] ?? 0) / total) * 100}%`;
        return bar;
      } },
    ],
    rows: STATUSES,
    rowKey: (s) => s,
  });
}

function alerts(doc) {
  const errors = doc.logs?.recent_errors || [];
  const open = errors.filter((e) => !e.acknowledged);
  return panel(`Recent errors (${open.length} not acknowledged)`,
    h("div", { class: "toolbar" }, actionButton("Acknowledge all", "dashboard.alert.ack_all", {},
      { confirm: "Acknowledge every unacknowledged event?" })),
    table({
      caption: "Recent errors and critical events",
      columns: [
        { label: "When", cell: (e) => fmt.time(e.created_at) },
        { label: "Severity", cell: (e) => badge(e.severity, "sev") },
        { label: "Source", cell: (e) => e.source },
        { label: "Message", class: "wrap", cell: (e) => e.message },
        { label: "", cell: (e) => (e.acknowledged ? h("span", { class: "muted" }, "acknowledged")
          : actionButton("Acknowledge", "dashboard.alert.ack", { event_id: e.id }, { ariaLabel: `Acknowledge: ${e.message}` })) },
      ],
      rows: errors.slice(0, 10),
      rowKey: (e) => e.id,
      empty: "No recent errors.",
    }));
}

export function mount({ root, title }) {
  const live = h("div", { class: "live-region" }, h("p", { class: "muted" }, "Waiting for the live document\u2026"));
  const controls = h("div", { class: "toolbar" });
  clear(root, h("h1", {}, title), controls, live, actionsPanel("Dashboard"));

  function update(doc) {
    const d = doc.dashboard || {};
    keepFocus(root, () => {
      clear(controls,
        actionButton("Rebuild document now", "dashboard.refresh", {}),
        d.queue_paused ? actionButton("Resume queue", "queue.resume", {})
          : actionButton("Pause queue", "queue.pause", {}, { confirm: "Pause the queue? Running stages finish; nothing new starts." }));
      clear(live, banners(d), cards(d),
        h("div", { class: "split" }, panel("Jobs by status", statusTable(d)), alerts(doc)),
        h("p", { class: "muted" }, `Deployment: ${doc.deployment} \u00b7 document built ${fmt.time(doc.built_at)} in ${fmt.num(doc.build_ms, 1)} ms`));
    });
    if (!performance.getEntriesByName("agentos:dashboard-rendered").length) performance.mark("agentos:dashboard-rendered");
  }
  return { update };
}
