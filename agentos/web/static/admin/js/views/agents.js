// Agents & Workers: pipeline agents and the workers running them, live from the document;
// start, stop, restart, concurrency and configuration per agent; ping, stats, pool size
// and shutdown per worker.

import { actionButton, actionDialog, actionsPanel, may, perform, showResult } from "../actions.js";
import { badge, button, clear, facts, fmt, h, keepFocus, panel, table } from "../dom.js";

function formButton(label, name, preset) {
  if (!may(name)) return null;
  return button(label, () => actionDialog(name, preset), { class: "small", "data-action": name });
}

function agentsTable(agents) {
  return table({
    caption: "Agents in pipeline order",
    columns: [
      { label: "Agent", cell: (a) => h("strong", {}, a.name) },
      { label: "Stage", class: "num", cell: (a) => String(a.stage_order) },
      { label: "Enabled", cell: (a) => badge(a.enabled, "bool") },
      { label: "State", cell: (a) => badge(a.state) },
      { label: "Concurrency", class: "num", cell: (a) => String(a.concurrency) },
      { label: "Waiting", class: "num", cell: (a) => String(a.queue_depth) },
      { label: "Running", class: "num", cell: (a) => String(a.running) },
      { label: "Actions", cell: (a) => h("div", { class: "row-actions" },
        a.enabled ? actionButton("Stop", "agent.stop", { agent_id: a.name }, { confirm: `Stop agent ${a.name}? Its queued work waits.`, ariaLabel: `Stop ${a.name}` })
          : actionButton("Start", "agent.start", { agent_id: a.name }, { ariaLabel: `Start ${a.name}` }),
        actionButton("Restart", "agent.restart", { agent_id: a.name }, { ariaLabel: `Restart ${a.name}` }),
        formButton("Concurrency\u2026", "agent.set_concurrency", { agent_id: a.name, concurrency: a.concurrency }),
        formButton("Config\u2026", "agent.config.update", { agent_id: a.name, config: {} }),
        actionButton("Reset config", "agent.config.reset", { agent_id: a.name }, { confirm: `Reset ${a.name}'s settings to the defaults?` }),
        actionButton("Clear queue", "agent.clear_queue", { agent_id: a.name })) },
    ],
    rows: agents, rowKey: (a) => a.name,
  });
}

function workersTable(workers) {
  const stats = async (name, el) => {
    const result = await perform("worker.stats", { worker: name }, { button: el });
    if (result) showResult("worker.stats", result);
  };
  return table({
    caption: "Workers",
    columns: [
      { label: "Worker", class: "wrap", cell: (w) => h("strong", {}, w.name) },
      { label: "Kind", cell: (w) => w.kind },
      { label: "Status", cell: (w) => badge(w.status) },
      { label: "Heartbeat", cell: (w) => (w.heartbeat_age_s == null ? "-" : `${fmt.num(w.heartbeat_age_s, 1)} s ago`) },
      { label: "Pool", class: "num", cell: (w) => String(w.concurrency ?? "-") },
      { label: "Done / failed", class: "num", cell: (w) => `${w.tasks_done ?? 0} / ${w.tasks_failed ?? 0}` },
      { label: "CPU", class: "num", cell: (w) => (w.cpu_percent == null ? "-" : `${fmt.num(w.cpu_percent, 1)} %`) },
      { label: "Memory", class: "num", cell: (w) => fmt.bytes(w.memory_bytes) },
      { label: "Actions", cell: (w) => h("div", { class: "row-actions" },
        may("worker.stats") ? button("Stats", (event) => stats(w.name, event.currentTarget), { class: "small", "data-action": "worker.stats" }) : null,
        actionButton("Ping", "worker.ping", { worker: w.name }, { done: (r) => showResult("worker.ping", r) }),
        formButton("Grow\u2026", "worker.pool_grow", { worker: w.name, n: 1 }),
        formButton("Shrink\u2026", "worker.pool_shrink", { worker: w.name, n: 1 }),
        formButton("Autoscale\u2026", "worker.autoscale", { worker: w.name }),
        actionButton("Shut down", "worker.shutdown", { worker: w.name })) },
    ],
    rows: workers, rowKey: (w) => w.id || w.name, empty: "No worker has reported.",
  });
}

export function mount({ root, title }) {
  const box = h("div", {}, h("p", { class: "muted" }, "Waiting for the live document\u2026"));
  clear(root, h("h1", {}, title),
    h("div", { class: "toolbar" }, actionButton("Restart all agents", "agent.restart_all", {})),
    box, actionsPanel("AgentsWorkers"));
  return {
    update(doc) {
      const aw = doc.agents_workers || {};
      const p = aw.process || {};
      keepFocus(box, () => clear(box,
        panel("Agents", agentsTable(aw.agents || [])),
        panel(`Workers (${aw.workers_online ?? 0} online, ${aw.workers_offline ?? 0} offline)`, workersTable(aw.workers || [])),
        panel("Server process", facts([["PID", p.pid], ["Threads", p.threads], ["CPU", `${fmt.num(p.cpu_percent, 1)} %`], ["Memory", fmt.bytes(p.memory_bytes)]]))));
    },
  };
}
