// Analytics: jobs per hour over the last day (live from the document, charted with the
// vendored uPlot, loaded only here) and per-endpoint latency (GET /api/analytics/metrics).

import * as api from "../api.js";
import { actionsPanel } from "../actions.js";
import { button, card, clear, fmt, h, keepFocus, panel, table, throttle } from "../dom.js";

const UPLOT_JS = "/admin/assets/vendor/uplot/uPlot.iife.min.js";
const UPLOT_CSS = "/admin/assets/vendor/uplot/uPlot.min.css";
let uplotReady = null;

function loadUplot() {
  if (window.uPlot) return Promise.resolve(window.uPlot);
  if (!uplotReady) {
    uplotReady = new Promise((resolve, reject) => {
      document.head.append(h("link", { rel: "stylesheet", href: UPLOT_CSS }));
      const script = h("script", { src: UPLOT_JS });
      script.addEventListener("load", () => resolve(window.uPlot));
      script.addEventListener("error", () => reject(new Error("the chart library did not load")));
      document.head.append(script);
    });
  }
  return uplotReady;
}

function hourLabel(iso) {
  return new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
}

function bucketTable(buckets) {
  return table({
    caption: "Jobs per hour (the chart's data)",
    columns: [
      { label: "Hour", cell: (b) => `${fmt.time(b.hour)}` },
      { label: "Created", class: "num", cell: (b) => String(b.created) },
      { label: "Completed", class: "num", cell: (b) => String(b.completed) },
      { label: "Failed", class: "num", cell: (b) => String(b.failed) },
    ],
    rows: [...buckets].reverse(),
  });
}

function endpointsTable(endpoints) {
  return table({
    caption: "Requests by endpoint (this deployment)",
    columns: [
      { label: "Endpoint", class: "mono wrap", cell: (e) => `${e.method} ${e.route}` },
      { label: "Requests", class: "num", cell: (e) => String(e.requests) },
      { label: "p50", class: "num", cell: (e) => `${fmt.num(e.p50_ms, 1)} ms` },
      { label: "p95", class: "num", cell: (e) => `${fmt.num(e.p95_ms, 1)} ms` },
      { label: "p99", class: "num", cell: (e) => `${fmt.num(e.p99_ms, 1)} ms` },
      { label: "4xx", class: "num", cell: (e) => fmt.pct(e.rate_4xx) },
      { label: "5xx", class: "num", cell: (e) => fmt.pct(e.rate_5xx) },
    ],
    rows: endpoints, rowKey: (e) => `${e.method} ${e.route}`, empty: "No requests recorded yet.",
  });
}

export function mount({ root, title }) {
  const totals = h("div", { class: "cards" });
  const chartBox = h("figure", { class: "chart", "aria-label": "Jobs created, completed and failed per hour, last 24 hours" });
  const tableBox = h("details", {}, h("summary", {}, "Show the numbers"));
  const endpoints = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Loading\u2026"));
  let plot = null;
  let lastBuckets = null;

  async function drawChart(buckets) {
    const width = Math.max(280, chartBox.clientWidth || 600);
    const data = [buckets.map((b) => new Date(b.hour).getTime() / 1000), buckets.map((b) => b.created),
      buckets.map((b) => b.completed), buckets.map((b) => b.failed)];
    try {
      const UPlot = await loadUplot();
      if (plot && plot.width === width) { plot.setData(data); return; }
      plot?.destroy();
      plot = new UPlot({
        width, height: 240,
        scales: { x: { time: true } },
        series: [{ label: "Hour", value: (u, v) => (v == null ? "-" : hourLabel(v * 1000)) },
          { label: "Created", stroke: "#1f4e8c", width: 2 },
          { label: "Completed", stroke: "#1b7f3b", width: 2 },
          { label: "Failed", stroke: "#b42318", width: 2 }],
        axes: [{}, { label: "jobs" }],
      }, data, chartBox);
    } catch (error) {
      clear(chartBox, h("p", { class: "error" }, `Chart unavailable: ${error.message}`));
    }
  }

  async function loadEndpoints() {
    try {
      const data = (await api.get("/api/analytics/metrics")).data;
      keepFocus(endpoints, () => clear(endpoints, endpointsTable(data.endpoints || []),
        button("Reload", loadEndpoints, { class: "small secondary", "data-fk": "reload-endpoints" })));
    } catch (error) {
      clear(endpoints, h("p", { class: "error" }, `${error.code}: ${error.message}`));
    }
  }
  const onResize = throttle(() => { if (lastBuckets) { plot?.destroy(); plot = null; drawChart(lastBuckets); } }, 300);
  window.addEventListener("resize", onResize);

  clear(root, h("h1", {}, title), totals, panel("Last 24 hours", chartBox, tableBox),
    panel("Endpoint latency", endpoints), actionsPanel("Analytics"));
  loadEndpoints();
  return {
    update(doc) {
      const a = doc.analytics || {};
      const buckets = a.buckets || [];
      clear(totals, card(`Created (${a.hours} h)`, a.created), card("Completed", a.completed), card("Failed", a.failed),
        card("Success rate", a.completed + a.failed ? fmt.pct(a.completed / (a.completed + a.failed)) : "-"));
      const changed = JSON.stringify(buckets) !== JSON.stringify(lastBuckets);
      lastBuckets = buckets;
      if (changed) {
        drawChart(buckets);
        clear(tableBox, h("summary", {}, "Show the numbers"), bucketTable(buckets));
      }
    },
    destroy() { window.removeEventListener("resize", onResize); plot?.destroy(); },
  };
}
