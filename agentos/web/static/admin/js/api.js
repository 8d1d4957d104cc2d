// The session and every HTTP call. Tokens live in this module's memory only: never in a
// URL, a cookie or web storage (a reload asks to log in again). The access token is
// refreshed before it expires; when that fails the session ends with "expired".

export class ApiError extends Error {
  constructor(status, code, message, details = null, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code || `HTTP_${status}`;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

export const session = new EventTarget();
const state = { access: null, refresh: null, expiresAt: 0, user: null, timer: null, refreshing: null };
const REFRESH_SHARE = 0.75; // refresh when this share of the token's life has passed
const SOURCE_HEADERS = { "X-AgentOS-Source": "web" };

export function uuid4() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part.padEnd(part.length + ((4 - (part.length % 4)) % 4), "=")));
  } catch {
    return {};
  }
}

export function user() { return state.user; }
export function token() { return state.access; }
export function loggedIn() { return Boolean(state.access); }
export function expiresIn() { return Math.max(0, (state.expiresAt - Date.now()) / 1000); }

function emit(name, detail) { session.dispatchEvent(new CustomEvent(name, { detail })); }

function adopt(pair) {
  const c = claims(pair.access_token);
  state.access = pair.access_token;
  state.refresh = pair.refresh_token;
  state.expiresAt = Date.now() + pair.expires_in * 1000;
  state.user = { name: c.name, role: c.role, id: c.sub, mustChange: Boolean(pair.must_change_password) };
  clearTimeout(state.timer);
  const wait = Math.max(5, pair.expires_in * REFRESH_SHARE) * 1000;
  state.timer = setTimeout(() => refresh().catch(() => {}), wait);
  emit("change", state.user);
}

async function send(method, path, { query, body, headers = {}, auth = true } = {}) {
  let url = path;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined || value === null || value === "") continue;
      for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
    }
    const text = params.toString();
    if (text) url += `?${text}`;
  }
  const init = { method, headers: { Accept: "application/json", ...headers }, cache: "no-store" };
  if (auth && state.access) init.headers.Authorization = `Bearer ${state.access}`;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  try {
    return await fetch(url, init);
  } catch (error) {
    throw new ApiError(0, "NETWORK", `The server did not answer (${error.message})`);
  }
}

async function parse(response) {
  let payload = null;
  try { payload = await response.json(); } catch { payload = null; }
  if (response.ok && payload && payload.success !== false) return payload;
  const retry = response.headers.get("Retry-After");
  throw new ApiError(response.status, payload?.error_code, payload?.error || response.statusText,
    payload?.details ?? null, retry ? Number(retry) : null);
}

export async function login(username, password) {
  const answer = await parse(await send("POST", "/api/auth/login", { body: { username, password }, auth: false }));
  performance.mark("agentos:logged-in");
  adopt(answer.data);
  return state.user;
}

export async function changePassword(current, next) {
  const answer = await parse(await send("POST", "/api/auth/password",
    { body: { current_password: current, new_password: next } }));
  adopt(answer.data);
  return state.user;
}

export function refresh() {
  if (state.refreshing) return state.refreshing;
  if (!state.refresh) return Promise.reject(new ApiError(401, "SESSION_EXPIRED", "Not logged in"));
  state.refreshing = (async () => {
    try {
      const answer = await parse(await send("POST", "/api/auth/refresh",
        { body: { refresh_token: state.refresh }, auth: false }));
      adopt(answer.data);
      emit("refreshed", state.user);
    } catch (error) {
      if (error.status === 0 && expiresIn() > 10) {
        clearTimeout(state.timer); // the server is away: try again while the token lasts
        state.timer = setTimeout(() => refresh().catch(() => {}), 5000);
      } else {
        expire(error);
      }
      throw error;
    } finally {
      state.refreshing = null;
    }
  })();
  return state.refreshing;
}

function forget() {
  clearTimeout(state.timer);
  Object.assign(state, { access: null, refresh: null, expiresAt: 0, timer: null });
}

export function expire(reason) {
  if (!state.access && !state.refresh) return;
  const name = state.user?.name;
  forget();
  emit("expired", { name, reason });
}

export function logout() {
  forget();
  state.user = null;
  emit("logout");
}

// An authenticated call answering the envelope; one refresh-and-retry on 401.
export async function call(method, path, options = {}) {
  let response = await send(method, path, options);
  if (response.status === 401 && state.refresh) {
    try { await refresh(); } catch (error) { throw sessionError(error); }
    response = await send(method, path, options);
  }
  if (response.status === 401) {
    const error = await parse(response).catch((e) => e);
    expire(error);
    throw sessionError(error);
  }
  return parse(response);
}

function sessionError(error) {
  return new ApiError(401, "SESSION_EXPIRED", `Your session has ended: ${error.message}`);
}

export async function get(path, query) { return (await call("GET", path, { query })); }

// POST /api/admin/action with an Idempotency-Key: a retry with the same key never runs twice.
export async function action(name, payload = {}, key = uuid4()) {
  const answer = await call("POST", "/api/admin/action", {
    body: { action: name, payload },
    headers: { "Idempotency-Key": key, ...SOURCE_HEADERS },
  });
  return answer.data;
}

// A protected file (a clip, a thumbnail) as a blob: URL; the caller revokes it.
export async function objectUrl(path) {
  let response = await send("GET", path, { headers: { Accept: "*/*" } });
  if (response.status === 401 && state.refresh) {
    await refresh();
    response = await send("GET", path, { headers: { Accept: "*/*" } });
  }
  if (!response.ok) await parse(response);
  return URL.createObjectURL(await response.blob());
}
