// The live admin document: /ws (token as a subprotocol, never in the URL) delivers change
// events; after each burst the console asks the socket for a snapshot of the SSOT document.
// Without a socket it falls back to GET /api/admin/ssot with If-None-Match every few seconds.

import * as api from "./api.js";

const SNAPSHOT_DEBOUNCE_MS = 120;
const FALLBACK_POLL_MS = 5000;
const MAX_BACKOFF_MS = 10000;

export class Live extends EventTarget {
  constructor() {
    super();
    this.state = "offline"; // connecting | live | reconnecting | offline
    this.doc = null;
    this.meta = null; // {source, age_s, built_at, ...} of the document served
    this.receivedAt = 0;
    this.ws = null;
    this.backoff = 500;
    this.timers = {};
    this.etag = null;
    this.stopped = true;
  }

  start() {
    this.stopped = false;
    this.connect();
    this.poll();
  }

  stop() {
    this.stopped = true;
    Object.values(this.timers).forEach(clearTimeout);
    if (this.ws) this.ws.close(1000, "logged out");
    this.ws = null;
    this.setState("offline");
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.emit("state", state);
  }

  emit(name, detail) { this.dispatchEvent(new CustomEvent(name, { detail })); }

  ageSeconds() {
    if (!this.meta) return null;
    return this.meta.age_s + (Date.now() - this.receivedAt) / 1000;
  }

  connect() {
    if (this.stopped || !api.token()) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    this.setState(this.doc ? "reconnecting" : "connecting");
    let ws;
    try {
      ws = new WebSocket(`${scheme}//${location.host}/ws`, ["bearer", api.token()]);
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => { this.backoff = 500; });
    ws.addEventListener("message", (message) => this.onMessage(message.data));
    ws.addEventListener("close", (event) => this.onClose(ws, event));
  }

  async onClose(ws, event) {
    if (this.ws !== ws) return;
    this.ws = null;
    if (this.stopped) return;
    this.setState("reconnecting");
    if (event.code === 4401) {
      try { await api.refresh(); } catch { return; } // the session ends: main shows login
    }
    if (event.code === 4403) {
      this.setState("offline");
      this.emit("refused", event.reason);
      return;
    }
    this.retry();
  }

  retry() {
    clearTimeout(this.timers.reconnect);
    this.timers.reconnect = setTimeout(() => this.connect(), this.backoff);
    this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
  }

  onMessage(raw) {
    let message;
    try { message = JSON.parse(raw); } catch { return; }
    if (message.type === "hello") {
      this.setState("live");
      this.requestSnapshot(0);
    } else if (message.type === "snapshot") {
      this.adopt(message.data, message.cache);
    } else if (message.type === "event") {
      this.emit("event", message);
      this.requestSnapshot(SNAPSHOT_DEBOUNCE_MS);
    } else if (message.type === "resync") {
      this.requestSnapshot(0);
    } else if (message.type === "ping") {
      this.send({ type: "pong" });
    }
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  requestSnapshot(delay) {
    clearTimeout(this.timers.snapshot);
    this.timers.snapshot = setTimeout(() => {
      if (!this.send({ type: "snapshot" })) this.fetchDocument();
    }, delay);
  }

  adopt(doc, meta) {
    this.doc = doc;
    this.meta = meta;
    this.receivedAt = Date.now();
    this.emit("doc", doc);
  }

  // Used at start (before the socket says hello) and while there is no socket.
  async fetchDocument() {
    if (!api.token()) return;
    const headers = { Authorization: `Bearer ${api.token()}`, Accept: "application/json" };
    if (this.etag && this.doc) headers["If-None-Match"] = this.etag;
    try {
      const response = await fetch("/api/admin/ssot", { headers, cache: "no-store" });
      if (response.status === 304) {
        this.meta = { ...this.meta, source: (response.headers.get("X-Cache") || "hit").toLowerCase(), age_s: this.ageSeconds() };
        this.receivedAt = Date.now();
        this.emit("doc", this.doc);
        return;
      }
      if (response.status === 401) { await api.refresh().catch(() => {}); return; }
      const body = await response.json();
      if (!response.ok) { this.emit("error", body); return; }
      this.etag = response.headers.get("ETag");
      this.adopt(body.data, body.cache);
    } catch {
      // the connection state says it; the next poll tries again
    }
  }

  poll() {
    clearTimeout(this.timers.poll);
    if (this.stopped) return;
    if (this.state !== "live" || !this.doc) this.fetchDocument();
    this.timers.poll = setTimeout(() => this.poll(), FALLBACK_POLL_MS);
  }
}
