// The page around the views: notifications, the modal dialog, the connection and document
// status line.

import { $, append, clear, fmt, h } from "./dom.js";

const TOAST_MS = 6000;
const ERROR_TOAST_MS = 15000;

export function toast(message, kind = "info") {
  const box = $("#toasts");
  const item = h("div", { class: `toast toast-${kind}` }, h("span", {}, message),
    h("button", { type: "button", class: "link", "aria-label": "Dismiss", onclick: () => item.remove() }, "\u00d7"));
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? ERROR_TOAST_MS : TOAST_MS);
  return item;
}

export function errorText(error) {
  if (!error) return "Unknown error";
  const code = error.code ? `${error.code}: ` : "";
  const wait = error.retryAfter ? ` (retry in ${error.retryAfter} s)` : "";
  return `${code}${error.message}${wait}`;
}

export function toastError(error, what) {
  return toast(`${what ? `${what} failed - ` : ""}${errorText(error)}`, "error");
}

// One modal at a time. Resolves with the submitted button's value and the form's fields, or
// null when dismissed (Escape, Cancel). `validate(form)` may return an error text.
export function openDialog({ title, body = [], actions = [], validate, wide = false, returnFocus }) {
  const dialog = $("#dialog");
  const opener = returnFocus || document.activeElement;
  const error = h("p", { class: "error", role: "alert" });
  const form = h("form", { method: "dialog", novalidate: true });
  const buttons = h("div", { class: "buttons" },
    h("button", { type: "button", value: "", class: "secondary", onclick: () => dialog.close("") }, "Cancel"),
    actions.map((a) => h("button", { type: "submit", value: a.value, class: a.danger ? "danger" : "primary" }, a.label)));
  append(form, [h("h2", { id: "dialog-title" }, title), h("div", { class: "dialog-body" }, body), error, buttons]);
  clear(dialog, form);
  dialog.classList.toggle("wide", wide);
  return new Promise((resolve) => {
    let result = null;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!form.reportValidity()) return;
      const problem = validate ? validate(form) : null;
      if (problem) { error.textContent = problem; return; }
      result = { value: event.submitter?.value ?? "ok", form };
      dialog.close("ok");
    });
    dialog.addEventListener("close", () => {
      resolve(result);
      refocus(opener);
    }, { once: true });
    dialog.showModal();
  });
}

// Focus `el`, or the control that replaced it in a live re-render (same data-action).
export function refocus(el) {
  if (!el || el === document.body) return;
  let target = el;
  if (!el.isConnected && el.dataset?.action) target = document.querySelector(`#main [data-action="${CSS.escape(el.dataset.action)}"]`);
  if (target && !target.disabled) target.focus();
}

export function field(label, input, hint) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  const hintEl = hint ? h("span", { class: "hint", id: `${id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  if (input.type === "checkbox") {
    return h("div", { class: "field check" }, input, h("label", { for: id }, label), hintEl);
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hintEl);
}

const STATE_TEXT = {
  live: "Live", connecting: "Connecting", reconnecting: "Reconnecting", offline: "Offline",
};

// "Live · document 2 s old (hit)" - refreshed every second.
export function renderStatus(live) {
  const box = $("#status");
  if (!live) { clear(box); return; }
  const age = live.ageSeconds();
  const source = live.meta?.source ?? "-";
  clear(box,
    h("span", { class: `conn conn-${live.state}`, "data-state": live.state }, STATE_TEXT[live.state] || live.state),
    h("span", { class: "docage", "data-source": source },
      live.doc ? `Document ${age === null ? "-" : fmt.age(age).replace(" ago", " old")} \u00b7 ${source}` : "No document yet"));
}
