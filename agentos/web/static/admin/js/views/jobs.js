// Jobs & Queue: the queue from the live document; the job history paged, filtered and
// sorted on the server (GET /api/jobs/history); row actions; live status changes.
// `#/jobs/<id>` shows one job (job.js).

import * as api from "../api.js";
import { actionButton, actionsPanel, may } from "../actions.js";
import { badge, button, clear, fmt, h, keepFocus, panel, shortId, table, throttle } from "../dom.js";
import { field, toastError } from "../shell.js";

const STATUSES = ["pending", "queued", "processing", "completed", "failed", "cancelled"];
const ACTIVE = new Set(["pending", "queued", "processing"]);
const RETRYABLE = new Set(["failed", "cancelled"]);
const TERMINAL = new Set(["completed", "failed", "cancelled"]);
const SORTS = ["created_at", "updated_at", "priority", "status", "title", "progress", "attempts", "current_stage", "id"];
const REFETCH_MS = 2000;
// Kept while the console is open, so coming back to the view keeps the filters.
const query = { status: [], search: "", id_prefix: "", created_from: "", created_to: "", sort: "created_at", order: "desc", page: 1, per_page: 20 };

function rowActions(job, reload) {
  const done = () => reload();
  return h("div", { class: "row-actions" },
    h("a", { href: `#/jobs/${job.id}`, class: "button small secondary", "data-fk": "open", "aria-label": `Open job ${job.title || job.id}` }, "Open"),
    ACTIVE.has(job.status) ? actionButton("Cancel", "job.cancel", { job_id: job.id },
      { confirm: `Cancel job "${job.title || job.id}"? A running stage stops at its next check.`, title: "Cancel this job?", confirmLabel: "Cancel job", ariaLabel: `Cancel job ${job.title || job.id}`, done }) : null,
    RETRYABLE.has(job.status) ? actionButton("Retry", "job.retry", { job_id: job.id }, { ariaLabel: `Retry job ${job.title || job.id}`, done }) : null,
    TERMINAL.has(job.status) ? actionButton("Delete", "job.delete", { job_id: job.id }, { ariaLabel: `Delete job ${job.title || job.id}`, done }) : null);
}

export function setStatusCell(row, status) {
  row.dataset.status = status;
  const cell = row.querySelector("[data-cell=status]");
  if (cell) clear(cell, badge(status));
}

function filterForm(apply) {
  const statusBoxes = STATUSES.map((s) => h("label", { class: "chip" },
    h("input", { type: "checkbox", name: "status", value: s, checked: query.status.includes(s) }), ` ${s}`));
  const input = (name, props = {}) => h("input", { name, value: query[name] || "", ...props });
  const select = (name, options) => h("select", { name }, options.map((o) => h("option", { value: o, selected: String(query[name]) === String(o) }, o)));
  const form = h("form", { class: "filters", role: "search", "aria-label": "Filter jobs" },
    h("fieldset", { class: "chips" }, h("legend", {}, "Status"), statusBoxes),
    field("Title contains", input("search", { type: "search", maxlength: "255" })),
    field("Id starts with", input("id_prefix", { pattern: "[0-9a-fA-F-]{4,36}", placeholder: "4+ hex digits" })),
    field("Created from", input("created_from", { type: "date" })),
    field("Created before", input("created_to", { type: "date" })),
    field("Sort by", select("sort", SORTS)),
    field("Order", select("order", ["desc", "asc"])),
    field("Per page", select("per_page", [10, 20, 50, 100])),
    h("div", { class: "buttons" }, h("button", { type: "submit", class: "primary" }, "Apply"),
      button("Reset", () => { Object.assign(query, { status: [], search: "", id_prefix: "", created_from: "", created_to: "", sort: "created_at", order: "desc", per_page: 20 }); apply(true); }, { class: "secondary" })));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!form.reportValidity()) return;
    const data = new FormData(form);
    query.status = data.getAll("status");
    for (const key of ["search", "id_prefix", "created_from", "created_to", "sort", "order"]) query[key] = String(data.get(key) || "").trim();
    query.per_page = Number(data.get("per_page"));
    query.page = 1;
    apply(false);
  });
  return form;
}

function params() {
  const toIso = (day) => (day ? `${day}T00:00:00Z` : null);
  return { ...query, created_from: toIso(query.created_from), created_to: toIso(query.created_to) };
}

function queuePanel(doc) {
  const q = doc.queue || {};
  return panel("Queue",
    h("p", {}, q.paused ? badge("paused") : badge("running"),
      ` ${q.pending_jobs ?? 0} pending \u00b7 ${q.queued_jobs ?? 0} queued \u00b7 ${q.processing_jobs ?? 0} processing \u00b7 oldest wait ${q.oldest_waiting_s == null ? "-" : `${fmt.num(q.oldest_waiting_s)} s`}`),
    table({
      caption: "Work waiting per agent",
      columns: [
        { label: "Agent", cell: (a) => a.agent },
        { label: "Enabled", cell: (a) => badge(a.enabled, "bool") },
        { label: "Waiting", class: "num", cell: (a) => String(a.depth) },
        { label: "Running", class: "num", cell: (a) => String(a.running) },
        { label: "Oldest wait", class: "num", cell: (a) => (a.oldest_waiting_s == null ? "-" : `${fmt.num(a.oldest_waiting_s)} s`) },
      ],
      rows: q.agents || [],
      rowKey: (a) => a.agent,
    }),
    h("div", { class: "toolbar" },
      q.paused ? actionButton("Resume queue", "queue.resume", {}) : actionButton("Pause queue", "queue.pause", {}, { confirm: "Pause the queue?" }),
      actionButton("Cancel all queued", "queue.clear", {}),
      actionButton("Retry failed jobs", "queue.retry_failed", {}, { confirm: "Queue every failed job again?" })));
}

export async function mount(ctx) {
  if (ctx.arg) return (await import("./job.js")).mount(ctx);
  const { root, title } = ctx;
  const queueBox = h("div");
  const results = h("div", { class: "results", "aria-live": "polite", "aria-busy": "true" });
  let page = null;
  let loading = 0;

  async function load(resetForm) {
    const ticket = ++loading;
    results.setAttribute("aria-busy", "true");
    try {
      const answer = await api.call("GET", "/api/jobs/history", { query: params() });
      if (ticket !== loading) return;
      page = answer;
      render();
    } catch (error) {
      if (ticket === loading) clear(results, h("p", { class: "error", role: "alert" }, `Could not load jobs - ${error.code}: ${error.message}`));
      if (error.status !== 401) toastError(error, "Loading jobs");
    } finally {
      results.setAttribute("aria-busy", "false");
      if (resetForm) form.replaceWith((form = filterForm(load)));
    }
  }
  const refetch = throttle(() => load(false), REFETCH_MS);

  function render() {
    const p = page.pagination;
    const showActions = may("job.cancel") || may("job.retry") || may("job.delete");
    const columns = [
      { label: "Job", cell: (j) => h("a", { href: `#/jobs/${j.id}`, class: "mono", title: j.id }, shortId(j.id)) },
      { label: "Title", class: "wrap", cell: (j) => j.title || "-" },
      { label: "Status", cell: (j) => h("span", { "data-cell": "status" }, badge(j.status)) },
      { label: "Stage", cell: (j) => j.current_stage || "-" },
      { label: "Progress", class: "num", cell: (j) => fmt.pct(j.progress) },
      { label: "Priority", class: "num", cell: (j) => String(j.priority) },
      { label: "Attempts", class: "num", cell: (j) => `${j.attempts}/${j.max_attempts}` },
      { label: "Created", cell: (j) => fmt.time(j.created_at) },
    ];
    columns.push({ label: showActions ? "Actions" : "", cell: (j) => (showActions ? rowActions(j, refetch) : h("a", { href: `#/jobs/${j.id}`, class: "button small secondary" }, "Open")) });
    keepFocus(results, () => {
      const grid = table({ caption: `Jobs (${p.total} matching)`, columns, rows: page.data, rowKey: (j) => j.id, empty: "No job matches these filters." });
      grid.querySelectorAll("tbody tr[data-key]").forEach((tr, i) => { tr.dataset.status = page.data[i].status; });
      clear(results, grid, h("nav", { class: "pager", "aria-label": "Job pages" },
        button("Previous", () => { query.page -= 1; load(false); }, { disabled: !p.has_prev, class: "secondary", "data-fk": "prev" }),
        h("span", {}, `Page ${p.page} of ${Math.max(1, p.total_pages)} \u00b7 ${p.total} jobs`),
        button("Next", () => { query.page += 1; load(false); }, { disabled: !p.has_next, class: "secondary", "data-fk": "next" })));
    });
  }

  let form = filterForm(load);
  clear(root, h("h1", {}, title), queueBox, panel("Job history", form, results), actionsPanel("Jobs & Queue"));
  load(false);
  return {
    update(doc) { keepFocus(queueBox, () => clear(queueBox, queuePanel(doc))); },
    event(message) {
      if (!message.job_id && !String(message.kind || "").startsWith("job")) return;
      const row = message.job_id ? results.querySelector(`tr[data-key="${CSS.escape(message.job_id)}"]`) : null;
      if (row && message.status) {
        setStatusCell(row, message.status);
        const job = page?.data.find((j) => j.id === message.job_id);
        if (job) {
          job.status = message.status;
          const cell = row.lastElementChild;
          if (cell && (may("job.cancel") || may("job.retry"))) keepFocus(row, () => clear(cell, rowActions(job, refetch)));
        }
      }
      refetch();
    },
  };
}
