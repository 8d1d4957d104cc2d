// Managers: users, API keys, the admin IP allow-list and lockouts (GET /api/admin/managers),
// reloaded after each change and when the live feed reports one.

import * as api from "../api.js";
import { actionButton, actionDialog, actionsPanel, may } from "../actions.js";
import { badge, button, clear, fmt, h, keepFocus, panel, shortId, table, throttle } from "../dom.js";
import { openDialog } from "../shell.js";

function formButton(label, name, preset, done) {
  if (!may(name)) return null;
  return button(label, async () => { if (await actionDialog(name, preset)) done(); }, { class: "small", "data-action": name });
}

function usersTable(users, reload) {
  const opts = (u, extra = {}) => ({ done: reload, ariaLabel: `${extra.verb || ""} ${u.username}`.trim(), ...extra });
  return table({
    caption: "Users",
    columns: [
      { label: "User", cell: (u) => h("strong", {}, u.username) },
      { label: "Role", cell: (u) => badge(u.role, "role") },
      { label: "Active", cell: (u) => badge(u.is_active, "bool") },
      { label: "Email", class: "wrap", cell: (u) => u.email || "-" },
      { label: "Last login", cell: (u) => fmt.time(u.last_login_at) },
      { label: "Locked until", cell: (u) => fmt.time(u.locked_until) },
      { label: "Actions", cell: (u) => h("div", { class: "row-actions" },
        formButton("Role\u2026", "user.set_role", { user_id: u.id, role: u.role }, reload),
        u.is_active ? actionButton("Disable", "user.disable", { user_id: u.id }, opts(u, { verb: "Disable", confirm: `Disable ${u.username}? Their sessions end.` }))
          : actionButton("Enable", "user.enable", { user_id: u.id }, opts(u, { verb: "Enable" })),
        u.locked_until ? actionButton("Unlock", "user.unlock", { user_id: u.id }, opts(u, { verb: "Unlock" })) : null,
        actionButton("Revoke tokens", "user.tokens.revoke", { user_id: u.id }, opts(u, { verb: "Revoke tokens of", confirm: `End every session and API key of ${u.username}?` })),
        formButton("API key\u2026", "apikey.create", { user_id: u.id }, reload)) },
    ],
    rows: users, rowKey: (u) => u.id,
  });
}

function keysTable(keys, reload) {
  return table({
    caption: "API keys (secrets are never shown again)",
    columns: [
      { label: "Key", cell: (k) => h("span", { class: "mono" }, k.prefix) },
      { label: "Name", cell: (k) => k.name },
      { label: "User", class: "mono", cell: (k) => shortId(k.user_id) },
      { label: "Scopes", cell: (k) => (k.scopes || []).join(", ") || "-" },
      { label: "Last used", cell: (k) => fmt.time(k.last_used_at) },
      { label: "Revoked", cell: (k) => fmt.time(k.revoked_at) },
      { label: "", cell: (k) => (k.revoked_at ? null : actionButton("Revoke", "apikey.revoke", { key_id: k.id }, { done: reload, confirm: `Revoke API key ${k.prefix}?` })) },
    ],
    rows: keys, rowKey: (k) => k.id, empty: "No API keys.",
  });
}

function allowTable(data, reload) {
  const rows = [...(data.configured_allowlist || []).map((cidr) => ({ cidr, configured: true })), ...(data.ip_allowlist || [])];
  return [table({
    caption: "Admin IP allow-list",
    columns: [
      { label: "Network", class: "mono", cell: (e) => e.cidr },
      { label: "From", cell: (e) => (e.configured ? "settings" : `table, ${e.note || "no note"}`) },
      { label: "", cell: (e) => (e.configured ? null : actionButton("Remove", "ipallow.remove", { cidr: e.cidr }, { done: reload, confirm: `Remove ${e.cidr} from the allow-list?` })) },
    ],
    rows, rowKey: (e) => e.cidr,
  }), h("div", { class: "toolbar" }, formButton("Add network\u2026", "ipallow.add", {}, reload))];
}

function lockoutsTable(lockouts) {
  return table({
    caption: "Lockouts after failed logins",
    columns: [
      { label: "Scope", cell: (l) => l.scope },
      { label: "Who", class: "mono", cell: (l) => l.subject },
      { label: "Failures", class: "num", cell: (l) => String(l.failures) },
      { label: "Locked until", cell: (l) => fmt.time(l.locked_until) },
      { label: "", cell: (l) => (l.scope === "ip" ? actionButton("Clear", "system.lockout.clear", { ip: l.subject }) : null) },
    ],
    rows: lockouts, empty: "No lockouts.",
  });
}

async function createUser(reload) {
  const result = await actionDialog("user.create");
  if (!result) return;
  reload();
  const secret = result.result?.one_time_password || result.result?.password || result.result?.invite_token;
  if (secret) {
    await openDialog({ title: "One-time password", body: [h("p", {}, "Shown once. Give it to the user; they choose their own at first login."), h("p", { class: "mono secret" }, secret)], actions: [] });
  }
}

export function mount({ root, title }) {
  const box = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Loading\u2026"));
  async function load() {
    try {
      const data = (await api.get("/api/admin/managers")).data;
      keepFocus(box, () => clear(box,
        panel(`Users (${data.users_total ?? data.users.length})`,
          h("div", { class: "toolbar" }, may("user.create") ? button("New user\u2026", () => createUser(reloadSoon), { class: "small", "data-action": "user.create" }) : null),
          usersTable(data.users || [], reloadSoon)),
        panel("API keys", keysTable(data.api_keys || [], reloadSoon)),
        h("div", { class: "split" }, panel("IP allow-list", allowTable(data, reloadSoon)), panel("Lockouts", lockoutsTable(data.lockouts || [])))));
    } catch (error) {
      clear(box, h("p", { class: error.status === 403 ? "notice" : "error", role: "alert" }, `${error.code}: ${error.message}`));
    }
  }
  const reloadSoon = throttle(load, 1000);
  clear(root, h("h1", {}, title), box, actionsPanel("Managers"));
  load();
  return {
    event(message) {
      const kind = String(message.kind || "");
      if (kind.startsWith("user") || kind.startsWith("apikey") || kind.startsWith("ipallow") || kind.includes("revoked")) reloadSoon();
    },
  };
}


