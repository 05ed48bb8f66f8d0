// @module admin/ui/live-table
// A table that live pages update in place: rows are keyed, and each update changes only
// the text (or badge) of cells that changed, adds rows that are new and drops rows that
// went, so nothing on the page jumps while a person reads it. A search box above it
// filters the rows as they type.
import { h } from "./dom.js";

/**
 * A cell: text, a badge `{ badge: "ok" | "bad" | "warn" | "off", text }`, or a link
 * `{ href, text }`.
 * @typedef {string | { badge: string, text: string } | { href: string, text: string }} Cell
 */

/**
 * @param {{ label: string, columns: { label: string, number?: boolean }[], empty: string,
 *   search?: string }} options `label` names the table (its caption), `empty` is shown when
 *   there are no rows, `search` labels the search box (none: no search box).
 */
export function liveTable(options) {
  const { columns } = options;
  const body = h("tbody");
  const emptyRow = h("tr", { className: "empty" }, h("td", { colspan: columns.length }, ""));
  const table = h(
    "table",
    { className: "live-table" },
    h("caption", { className: "visually-hidden" }, options.label),
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        columns.map((column) =>
          h("th", { scope: "col", className: column.number ? "number" : null }, column.label),
        ),
      ),
    ),
    body,
  );
  /** @type {Map<string, HTMLTableRowElement>} */
  const rows = new Map();
  let filter = "";
  let searchBox = null;
  if (options.search) {
    const id = `search-${options.label.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
    searchBox = h("input", {
      id,
      type: "search",
      autocomplete: "off",
      spellcheck: "false",
      oninput: (event) => {
        filter = event.target.value.trim().toLowerCase();
        applyFilter();
      },
    });
    searchBox = h(
      "div",
      { className: "table-search" },
      h("label", { for: id }, options.search),
      searchBox,
    );
  }

  function applyFilter() {
    let shown = 0;
    for (const row of rows.values()) {
      row.hidden = filter !== "" && !row.textContent.toLowerCase().includes(filter);
      if (!row.hidden) shown++;
    }
    emptyRow.firstChild.textContent =
      rows.size === 0 ? options.empty : `Nothing matches “${filter}”.`;
    emptyRow.hidden = shown > 0;
    if (!emptyRow.isConnected) body.append(emptyRow);
  }

  /** Shows `list` (in this order): `[{ key, cells }]`, one cell per column. */
  function set(list) {
    const keys = new Set(list.map((row) => row.key));
    for (const [key, row] of rows)
      if (!keys.has(key)) {
        row.remove();
        rows.delete(key);
      }
    let before = body.firstChild;
    for (const { key, cells } of list) {
      let row = rows.get(key);
      if (!row) {
        row = h(
          "tr",
          { "data-key": key },
          columns.map((column) => h("td", { className: column.number ? "number" : null })),
        );
        rows.set(key, row);
      }
      // Keeps the order given without moving rows that are already in place.
      if (row !== before) body.insertBefore(row, before);
      else before = before.nextSibling;
      for (const [i, cell] of cells.entries())
        setCell(/** @type {HTMLElement} */ (row.children[i]), cell);
    }
    applyFilter();
  }

  return {
    element: h("div", {}, searchBox, h("div", { className: "table-wrap" }, table)),
    set,
    /** Shows only the rows whose text has `text` (any case); returns how many are shown. */
    filter(text) {
      filter = text.trim().toLowerCase();
      applyFilter();
      return [...rows.values()].filter((row) => !row.hidden).length;
    },
  };
}

/** Puts `cell` in `td`, touching the DOM only when it changed. */
export function setCell(td, cell) {
  if (typeof cell === "string") {
    if (td.firstElementChild) td.replaceChildren();
    if (td.textContent !== cell) td.textContent = cell;
    return;
  }
  if ("href" in cell) {
    let link = td.firstElementChild;
    if (!(link instanceof HTMLAnchorElement)) {
      link = h("a");
      td.replaceChildren(link);
    }
    if (link.getAttribute("href") !== cell.href) link.setAttribute("href", cell.href);
    if (link.textContent !== cell.text) link.textContent = cell.text;
    return;
  }
  let span = td.firstElementChild;
  if (!(span instanceof HTMLSpanElement)) {
    span = h("span");
    td.replaceChildren(span);
  }
  const className = `badge badge-${cell.badge}`;
  if (span.className !== className) {
    span.className = className;
    span.setAttribute("data-state", cell.badge);
  }
  if (span.textContent !== cell.text) span.textContent = cell.text;
}

/** Sets `element`'s text when it differs (so an unchanged figure is not touched). */
export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}
