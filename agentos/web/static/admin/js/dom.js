// DOM building and formatting helpers. No innerHTML anywhere: text is always text.

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

export const fmt = {
  age(seconds) {
    if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "-";
    const s = Math.max(0, seconds);
    if (s < 1) return "just now";
    if (s < 60) return `${Math.floor(s)} s ago`;
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return `${Math.floor(s / 86400)} d ago`;
  },
  time(iso) {
    if (!iso) return "-";
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return String(iso);
    return date.toLocaleString(undefined, {
      month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
  },
  since(iso) {
    return iso ? fmt.age((Date.now() - new Date(iso).getTime()) / 1000) : "-";
  },
  bytes(n) {
    if (n === null || n === undefined) return "-";
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let value = Number(n);
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
  },
  pct(x) {
    return x === null || x === undefined ? "-" : `${(Number(x) * 100).toFixed(1)} %`;
  },
  num(x, digits = 0) {
    return x === null || x === undefined ? "-" : Number(x).toFixed(digits);
  },
  value(v) {
    if (v === null || v === undefined) return "-";
    if (typeof v === "boolean") return v ? "yes" : "no";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  },
};

export function shortId(id) {
  return id ? String(id).slice(0, 8) : "-";
}

export function badge(value, kind = "status") {
  const text = value === true ? "yes" : value === false ? "no" : String(value ?? "-");
  return h("span", { class: `badge ${kind}-${text.replace(/[^a-z0-9_-]/gi, "")}` }, text);
}

// A table inside a focusable scroll region (narrow screens scroll it sideways).
// columns: [{label, cell: row => node|text, class?}]
export function table({ caption, columns, rows, empty = "Nothing to show.", rowKey }) {
  const head = h("tr", {}, columns.map((c) => h("th", { scope: "col", class: c.class }, c.label)));
  const body = rows.length
    ? rows.map((row) => {
      const tr = h("tr", rowKey ? { dataset: { key: rowKey(row) } } : {});
      for (const c of columns) tr.append(h("td", { class: c.class }, c.cell(row)));
      return tr;
    })
    : [h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, empty))];
  const tableEl = h("table", {}, h("caption", {}, caption), h("thead", {}, head),
    h("tbody", {}, body));
  return h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": caption },
    tableEl);
}

// A definition list of label/value pairs.
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.map(([label, value]) => [
    h("dt", {}, label), h("dd", {}, value instanceof Node ? value : fmt.value(value)),
  ]));
}

export function card(label, value, note) {
  return h("div", { class: "card" }, h("span", { class: "card-label" }, label),
    h("strong", { class: "card-value" }, value), note ? h("span", { class: "muted" }, note) : null);
}

export function panel(title, ...children) {
  const id = `p-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${Math.random().toString(36).slice(2, 7)}`;
  return h("section", { class: "panel", "aria-labelledby": id }, h("h2", { id }, title), children);
}

export function pre(value) {
  return h("pre", { class: "json", tabindex: "0" }, JSON.stringify(value, null, 2));
}

export function button(label, onclick, extra = {}) {
  return h("button", { type: "button", onclick, ...extra }, label);
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

// At most one call per `ms`; the last call in a burst always runs.
export function throttle(fn, ms) {
  let last = 0;
  let timer = null;
  return (...args) => {
    const wait = last + ms - Date.now();
    clearTimeout(timer);
    if (wait <= 0) { last = Date.now(); fn(...args); return; }
    timer = setTimeout(() => { last = Date.now(); fn(...args); }, wait);
  };
}

// Re-render `root` with `build` and give focus back to the control that had it (matched by
// its data-action / data-fk inside the same data-key row), so live updates never steal focus.
export function keepFocus(root, build) {
  const active = document.activeElement;
  let selector = null;
  if (active && root.contains(active)) {
    const attr = active.hasAttribute("data-action") ? "data-action" : active.hasAttribute("data-fk") ? "data-fk" : null;
    if (attr) {
      const row = active.closest("[data-key]");
      selector = `${row ? `[data-key="${CSS.escape(row.dataset.key)}"] ` : ""}[${attr}="${CSS.escape(active.getAttribute(attr))}"]`;
    }
  }
  build();
  if (selector) root.querySelector(selector)?.focus();
}
