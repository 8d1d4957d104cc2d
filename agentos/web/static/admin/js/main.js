// The console: log in (and change a one-time password), then one page per admin view in
// the seed's order, each fed by the live document and the API.

import * as api from "./api.js";
import { loadCatalog } from "./actions.js";
import { $, clear, h } from "./dom.js";
import { Live } from "./live.js";
import { errorText, field, renderStatus, toast } from "./shell.js";

export const VIEWS = [
  { id: "dashboard", title: "Dashboard", load: () => import("./views/dashboard.js") },
  { id: "jobs", title: "Jobs & Queue", load: () => import("./views/jobs.js") },
  { id: "system", title: "System Controls", load: () => import("./views/system.js") },
  { id: "agents", title: "Agents & Workers", load: () => import("./views/agents.js") },
  { id: "managers", title: "Managers", load: () => import("./views/managers.js") },
  { id: "logs", title: "System Logs", load: () => import("./views/logs.js") },
  { id: "config", title: "Configuration", load: () => import("./views/config.js") },
  { id: "analytics", title: "Analytics", load: () => import("./views/analytics.js") },
];

const live = new Live();
let current = null; // {route, view}
let routing = 0;

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  const id = VIEWS.some((v) => v.id === parts[0]) ? parts[0] : "dashboard";
  return { id, arg: parts[1] ? decodeURIComponent(parts[1]) : null, key: `${id}/${parts[1] || ""}` };
}

function renderNav(active) {
  const nav = $("#views");
  nav.hidden = false;
  clear(nav, h("ul", {}, VIEWS.map((v, i) => h("li", {}, h("a", {
    href: `#/${v.id}`, "aria-current": v.id === active ? "page" : null, "data-view": v.id,
    title: `${v.title} (Alt+${i + 1})`,
  }, v.title)))));
}

function renderWho() {
  const user = api.user();
  if (!user || !api.loggedIn()) { clear($("#who")); return; }
  clear($("#who"), h("span", { class: "user" }, `${user.name} `, h("span", { class: "muted" }, `(${user.role})`)),
    h("button", { type: "button", class: "small secondary", onclick: logout }, "Log out"));
}

async function route() {
  if (!api.loggedIn()) return;
  const target = parseRoute();
  const ticket = ++routing;
  const spec = VIEWS.find((v) => v.id === target.id);
  renderNav(spec.id);
  if (current) { current.view.destroy?.(); current = null; }
  const main = $("#main");
  clear(main, h("p", { class: "muted" }, `Loading ${spec.title}\u2026`));
  const module = await spec.load();
  if (ticket !== routing) return;
  const root = h("div", { class: "view", "data-view": spec.id });
  clear(main, root);
  document.title = `${spec.title} - AgentOS admin`;
  const view = await module.mount({ root, live, arg: target.arg, title: spec.title });
  if (ticket !== routing) { view.destroy?.(); return; }
  current = { route: target, view };
  if (live.doc) view.update?.(live.doc);
}

function start() {
  renderWho();
  live.start();
  loadCatalog().then(() => { if (api.loggedIn()) route(); });
}

function logout() {
  live.stop();
  api.logout();
}

function showLogin(message, name = "") {
  if (current) { current.view.destroy?.(); current = null; }
  $("#views").hidden = true;
  renderWho();
  const error = h("p", { class: "error", role: "alert" });
  const username = h("input", { name: "username", autocomplete: "username", required: true, value: name });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", { class: "login panel", "aria-labelledby": "login-title" },
    h("h1", { id: "login-title" }, "Log in to AgentOS"),
    message ? h("p", { class: "notice", role: "status" }, message) : null,
    field("Username", username), field("Password", password), error,
    h("button", { type: "submit", class: "primary" }, "Log in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const submitButton = form.querySelector("button[type=submit]");
    submitButton.disabled = true;
    try {
      const user = await api.login(username.value.trim(), password.value);
      if (user.mustChange) showPasswordChange(password.value);
      else start();
    } catch (e) {
      error.textContent = errorText(e);
      password.select();
    } finally {
      submitButton.disabled = false;
    }
  });
  clear($("#main"), form);
  (name ? password : username).focus();
}

function showPasswordChange(current) {
  const error = h("p", { class: "error", role: "alert" });
  const next = h("input", { name: "new", type: "password", autocomplete: "new-password", required: true });
  const again = h("input", { name: "again", type: "password", autocomplete: "new-password", required: true });
  const form = h("form", { class: "login panel", "aria-labelledby": "pw-title" },
    h("h1", { id: "pw-title" }, "Choose a new password"),
    h("p", { class: "notice" }, "You logged in with a one-time password. Choose your own to continue; your other sessions end."),
    field("New password", next), field("New password again", again), error,
    h("button", { type: "submit", class: "primary" }, "Change password"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (next.value !== again.value) { error.textContent = "The two passwords differ."; return; }
    try {
      await api.changePassword(current, next.value);
      toast("Password changed.", "ok");
      start();
    } catch (e) {
      error.textContent = errorText(e);
    }
  });
  clear($("#main"), form);
  next.focus();
}

api.session.addEventListener("expired", (event) => {
  live.stop();
  showLogin("Your session has expired. Log in again to continue.", event.detail?.name || "");
});
api.session.addEventListener("logout", () => showLogin("You are logged out."));

live.addEventListener("doc", (event) => { renderStatus(live); current?.view.update?.(event.detail); });
live.addEventListener("event", (event) => current?.view.event?.(event.detail));
live.addEventListener("state", () => renderStatus(live));
live.addEventListener("refused", (event) => toast(`Live updates refused: ${event.detail}`, "error"));
setInterval(() => { if (api.loggedIn()) renderStatus(live); }, 1000);
window.addEventListener("hashchange", route);
window.addEventListener("keydown", (event) => {
  if (!event.altKey || !api.loggedIn()) return;
  const index = Number(event.key) - 1;
  if (index >= 0 && index < VIEWS.length) { location.hash = `#/${VIEWS[index].id}`; event.preventDefault(); }
});

showLogin();
