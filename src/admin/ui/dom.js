// @module admin/ui/dom
// Building elements (text always as text, never as HTML), and the small pieces every page
// shows: times, numbers, status badges, an API error.

/**
 * An element with attributes and children; `on*` attributes given functions become
 * listeners, `className` sets the class, `false`/`null`/`undefined` leave an attribute out.
 * @param {string} tag
 * @param {Record<string, unknown>} [attributes]
 * @param {...(Node | string | number | null | undefined | false)} children
 * @returns {HTMLElement}
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), /** @type {EventListener} */ (value));
    } else if (name === "className") {
      element.className = String(value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(typeof child === "object" ? child : String(child));
  }
  return element;
}

/** Replaces the children of `element` with `children`. */
export function replace(element, ...children) {
  element.replaceChildren();
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(typeof child === "object" ? child : String(child));
  }
}

/** A timestamp (RFC 3339 or epoch ms) as the page shows it. */
export function formatTime(value) {
  const time = typeof value === "number" ? value : Date.parse(value);
  return Number.isNaN(time) ? "" : new Date(time).toLocaleString();
}

const integer = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat("en-US", { maximumFractionDigits: 1 });

/** A count as the page shows it: `1,234`; `–` for none. */
export function formatCount(value) {
  return value === null || value === undefined ? "–" : integer.format(value);
}

/** A rate or a duration with one decimal: `12.5`; `–` for none. */
export function formatDecimal(value) {
  return value === null || value === undefined ? "–" : decimal.format(value);
}

/**
 * A status as a badge: `ok` (green), `bad` (red), `warn` (amber), `off` (grey); the text is
 * always there too, so colour is never the only sign.
 */
export function badge(kind, text) {
  return h("span", { className: `badge badge-${kind}`, "data-state": kind }, text);
}

/** An API error (from api.js) as an alert: the message, its code and the request id. */
export function errorAlert(error) {
  return h(
    "div",
    { className: "alert", role: "alert" },
    h("strong", {}, error?.message ?? String(error)),
    error?.code ? h("span", { className: "muted" }, ` ${error.code}`) : null,
    error?.requestId ? h("span", { className: "muted" }, ` · request ${error.requestId}`) : null,
  );
}
