// One job: its fields, steps, clips (thumbnails, playable in the page), events and log
// lines. Clip files are fetched with the token and shown as blob: URLs.

import * as api from "../api.js";
import { actionButton, read } from "../actions.js";
import { badge, button, clear, facts, fmt, h, keepFocus, panel, pre, table, throttle } from "../dom.js";
import { toastError } from "../shell.js";

const ACTIVE = new Set(["pending", "queued", "processing"]);
const TERMINAL = new Set(["completed", "failed", "cancelled"]);

function summary(job, reload) {
  return panel("Summary",
    facts([
      ["Id", h("span", { class: "mono" }, job.id)],
      ["Status", h("span", { "data-cell": "status" }, badge(job.status))],
      ["Stage", job.current_stage], ["Progress", fmt.pct(job.progress)],
      ["Priority", job.priority], ["Attempts", `${job.attempts} of ${job.max_attempts}`],
      ["Owner", h("span", { class: "mono" }, job.owner_id || "-")],
      ["Created", fmt.time(job.created_at)], ["Started", fmt.time(job.started_at)],
      ["Finished", fmt.time(job.finished_at)], ["Source", job.source_path],
      ["Size", fmt.bytes(job.source_size)], ["Trace id", job.trace_id],
      ["Error", job.error ? `${job.error_code || ""} ${job.error}` : "-"],
    ]),
    job.media_info ? h("details", {}, h("summary", {}, "Media info"), pre(job.media_info)) : null,
    h("div", { class: "toolbar" },
      ACTIVE.has(job.status) ? actionButton("Cancel job", "job.cancel", { job_id: job.id },
        { confirm: `Cancel job "${job.title || job.id}"?`, title: "Cancel this job?", confirmLabel: "Cancel job", done: reload }) : null,
      TERMINAL.has(job.status) && job.status !== "completed" ? actionButton("Retry", "job.retry", { job_id: job.id }, { done: reload }) : null,
      job.status === "queued" ? actionButton("Raise priority", "job.set_priority", { job_id: job.id, priority: Math.min(100, job.priority + 10) }, { done: reload }) : null,
      TERMINAL.has(job.status) ? actionButton("Delete job", "job.delete", { job_id: job.id }, { done: () => { location.hash = "#/jobs"; } }) : null));
}

function steps(job) {
  return panel("Processing steps", table({
    caption: "Steps in pipeline order",
    columns: [
      { label: "Agent", cell: (s) => s.agent },
      { label: "Attempt", class: "num", cell: (s) => String(s.attempt) },
      { label: "Status", cell: (s) => badge(s.status) },
      { label: "Worker", cell: (s) => s.worker_id || "-" },
      { label: "Progress", class: "num", cell: (s) => fmt.pct(s.progress) },
      { label: "Started", cell: (s) => fmt.time(s.started_at) },
      { label: "Took", class: "num", cell: (s) => (s.duration_ms == null ? "-" : `${fmt.num(s.duration_ms / 1000, 2)} s`) },
      { label: "Error", class: "wrap", cell: (s) => s.error || "-" },
    ],
    rows: job.steps || [],
    rowKey: (s) => s.id,
    empty: "No step has run yet.",
  }));
}

function clipCard(clip, urls) {
  const media = h("div", { class: "clip-media" }, h("span", { class: "muted" }, "Loading thumbnail\u2026"));
  const label = `Clip ${clip.ordinal + 1}: ${fmt.num(clip.start, 1)}-${fmt.num(clip.end, 1)} s`;
  if (clip.thumbnail_path) {
    api.objectUrl(`/admin/clips/${clip.id}/thumbnail`).then((url) => {
      urls.push(url);
      clear(media, h("img", { src: url, alt: `Thumbnail of ${label}`, width: "320", height: "180", loading: "lazy" }));
    }).catch(() => clear(media, h("span", { class: "muted" }, "No thumbnail")));
  } else {
    clear(media, h("span", { class: "muted" }, "No thumbnail yet"));
  }
  const play = button("Play", async () => {
    play.disabled = true;
    try {
      const url = await api.objectUrl(`/admin/clips/${clip.id}/video`);
      urls.push(url);
      const video = h("video", { src: url, controls: true, autoplay: true, muted: true, playsinline: true, "aria-label": label, width: "320", height: "180" });
      clear(media, video);
      video.focus();
    } catch (error) {
      toastError(error, "Loading the clip");
      play.disabled = false;
    }
  }, { class: "small", "aria-label": `Play ${label}`, "data-fk": `play-${clip.id}` });
  return h("figure", { class: "clip", "data-clip": clip.id }, media,
    h("figcaption", {}, h("strong", {}, label),
      h("span", { class: "muted" }, ` ${fmt.num(clip.duration, 1)} s \u00b7 ${clip.resolution || "-"} \u00b7 ${clip.codec || "-"} \u00b7 ${fmt.bytes(clip.size_bytes)} \u00b7 ${clip.status}`),
      clip.path ? play : null));
}

function clipsPanel(job, urls) {
  const clips = job.clips || [];
  return panel(`Clips (${clips.length})`,
    clips.length ? h("div", { class: "clips" }, clips.map((c) => clipCard(c, urls))) : h("p", { class: "muted" }, "No clips yet."));
}

function eventsTable(events) {
  return table({
    caption: "Events of this job",
    columns: [
      { label: "When", cell: (e) => fmt.time(e.created_at) },
      { label: "Severity", cell: (e) => badge(e.severity, "sev") },
      { label: "Kind", cell: (e) => e.kind },
      { label: "Message", class: "wrap", cell: (e) => e.message },
    ],
    rows: events, empty: "No events recorded for this job.",
  });
}

function logsTable(records) {
  return table({
    caption: "Log lines of this job",
    columns: [
      { label: "When", cell: (r) => fmt.time(r.created_at) },
      { label: "Level", cell: (r) => badge(r.level.toLowerCase(), "sev") },
      { label: "Logger", class: "wrap", cell: (r) => r.logger },
      { label: "Message", class: "wrap mono", cell: (r) => r.message },
    ],
    rows: records, empty: "No log lines recorded for this job.",
  });
}

export function mount({ root, arg }) {
  const urls = [];
  const head = h("div");
  const detail = h("div", { "aria-live": "polite" });
  const history = h("div");
  let job = null;

  async function load() {
    try {
      job = (await api.get(`/api/jobs/${encodeURIComponent(arg)}`)).data;
      keepFocus(root, () => {
        clear(head, h("p", {}, h("a", { href: "#/jobs" }, "\u2190 All jobs")), h("h1", {}, job.title || `Job ${arg}`));
        clear(detail, summary(job, reloadSoon), steps(job), clipsPanel(job, urls));
      });
    } catch (error) {
      clear(detail, h("p", { class: "error", role: "alert" }, `${error.code}: ${error.message}`));
    }
  }
  const reloadSoon = throttle(load, 1000);

  async function loadHistory() {
    clear(history, h("p", { class: "muted" }, "Loading events and log lines\u2026"));
    const [events, logs] = await Promise.allSettled([
      read("events.list", { job_id: arg, limit: 100 }),
      read("logs.search", { job_id: arg, limit: 200 }),
    ]);
    const show = (result, render) => (result.status === "fulfilled" ? render(result.value)
      : h("p", { class: "error" }, `${result.reason.code}: ${result.reason.message}`));
    clear(history,
      panel("Events", show(events, (r) => eventsTable(r.events || []))),
      panel("Log lines", show(logs, (r) => logsTable(r.records || [])),
        button("Reload events and log lines", loadHistory, { class: "secondary small", "data-fk": "reload-history" })));
  }

  clear(root, head, detail, history);
  load();
  loadHistory();
  return {
    event(message) { if (message.job_id === arg) reloadSoon(); },
    destroy() { urls.forEach((url) => URL.revokeObjectURL(url)); },
  };
}
