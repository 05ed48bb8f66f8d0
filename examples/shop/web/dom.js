// @module shop/web/dom
// What every view shares: building elements (text always as text, never as HTML), prices,
// and showing an API error in a form's alert region with the invalid fields marked.

/**
 * An element with attributes and children; `on*` attributes given functions become listeners.
 * @param {string} tag
 * @param {Record<string, unknown>} [attributes]
 * @param {...(Node | string | number | null | undefined | false)} children
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "className") {
      element.className = String(value);
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    element.append(typeof child === "object" ? child : String(child));
  }
  return element;
}

const money = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

/** A price in currency units as the page shows it, e.g. `$12.50`. */
export function formatPrice(value) {
  return money.format(Number(value) || 0);
}

/** A timestamp (RFC 3339) as the page shows it. */
export function formatTime(value) {
  const time = Date.parse(value);
  return Number.isNaN(time) ? "" : new Date(time).toLocaleString();
}

/** The first eight characters of a long id: enough to tell orders apart on screen. */
export function shortId(id) {
  const text = String(id ?? "");
  return text.length > 12 ? `${text.slice(0, 8)}…` : text;
}

/** The status of an order as a badge, styled by status. */
export function statusBadge(status) {
  return h(
    "span",
    { className: `badge badge-${status}`, "data-status": status },
    String(status).replaceAll("_", " "),
  );
}

/**
 * Shows an error in `region` (a role="alert" element): the message, the code and the
 * gateway's request id; fields named by the error's BadRequest details are marked invalid.
 * @param {HTMLElement} region
 * @param {unknown} error an ApiError, or anything thrown
 * @param {HTMLFormElement} [form] whose inputs are named after the API's fields
 */
export function showError(region, error, form) {
  const message = error instanceof Error ? error.message : String(error);
  const code = /** @type {any} */ (error)?.code;
  const requestId = /** @type {any} */ (error)?.requestId;
  region.replaceChildren(
    h("strong", {}, message),
    code || requestId
      ? h(
          "small",
          { className: "error-meta" },
          [code, requestId && `request ${requestId}`].filter(Boolean).join(" · "),
        )
      : null,
  );
  region.hidden = false;
  if (!form) return;
  const violations = /** @type {any} */ (error)?.fieldViolations ?? [];
  for (const violation of violations) {
    const snake = violation.field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
    const input = form.elements.namedItem(violation.field) ?? form.elements.namedItem(snake);
    if (input instanceof HTMLElement) input.setAttribute("aria-invalid", "true");
  }
  const first = form.querySelector('[aria-invalid="true"]');
  if (first instanceof HTMLElement) first.focus();
}

/** Empties an alert region and unmarks a form's invalid fields. */
export function clearError(region, form) {
  region.replaceChildren();
  region.hidden = true;
  for (const input of form?.querySelectorAll('[aria-invalid="true"]') ?? []) {
    input.removeAttribute("aria-invalid");
  }
}
