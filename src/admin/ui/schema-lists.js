// @module admin/ui/schema-lists
// The repeated fields of a schema form: a list (of values, or of groups) and a map of names
// to values, each with buttons to add and remove an item. Removing one renders the rest
// again from what they hold, so their labels stay numbered in order.
import { h } from "./dom.js";
import { childPath, groupShell } from "./schema-fields.js";

/** A list: of values (`items` scalar) or of groups, with buttons to add and remove items. */
export function listField(node, value, at) {
  const list = repeatedField(node, at, {
    initial: Array.isArray(value) ? value : [],
    blank: undefined,
    rowClass: "list-item",
    entry(item, index, name) {
      const field = at.ctx.field(node.items ?? {}, item, {
        ctx: at.ctx,
        path: childPath(at.path, index),
        name,
        required: false,
        item: true,
      });
      return { field, controls: [field.element] };
    },
    read: (entry) => entry.field.read(),
    filled: (item) => item !== undefined,
  });
  return {
    ...list,
    read() {
      const values = list.read();
      return values.length > 0 ? values : undefined;
    },
  };
}

/** A map of names to values (`additionalProperties`): rows of a name and its value. */
export function mapField(node, value, at) {
  const map = repeatedField(node, at, {
    initial: Object.entries(value && typeof value === "object" ? value : {}),
    blank: ["", undefined],
    rowClass: "list-item map-item",
    entry([key, item], index, name) {
      const keyInput = h("input", {
        type: "text",
        autocomplete: "off",
        "aria-label": `${name} name`,
      });
      keyInput.value = key;
      const field = at.ctx.field(node.additionalProperties, item, {
        ctx: at.ctx,
        path: childPath(at.path, key || String(index)),
        name: `${name} value`,
        required: false,
        item: true,
      });
      return { field, keyInput, controls: [keyInput, field.element] };
    },
    read: (entry) => [entry.keyInput.value.trim(), entry.field.read()],
    filled: ([key, item]) => Boolean(key) && item !== undefined,
  });
  return {
    ...map,
    read() {
      const pairs = map.read();
      return pairs.length > 0 ? Object.fromEntries(pairs) : undefined;
    },
  };
}

/**
 * What a list and a map share: a row per item (its controls and a Remove button), rendered
 * again from what the rows hold after a removal, and an Add button that appends `blank`.
 * `read()` gives the filled items. The new row's first control gets the focus.
 * @param {{ initial: unknown[], blank: unknown, rowClass: string,
 *   entry: (item: any, index: number, name: string) => { field: any, controls: Node[] },
 *   read: (entry: any) => any, filled: (item: any) => boolean }} shape
 */
function repeatedField(node, at, shape) {
  const rows = h("div", { className: "list-items" });
  let entries = [];
  const render = (items, focusLast) => {
    entries = items.map((item, index) => {
      const name = `${at.name} ${index + 1}`;
      const entry = shape.entry(item, index, name);
      const remove = h(
        "button",
        {
          type: "button",
          className: "remove",
          onclick: () => {
            render(read(true).filter((_, at) => at !== index));
            // The button pressed is gone: focus goes to Add, not to the page's start.
            add.focus();
          },
        },
        `Remove ${name}`,
      );
      return { ...entry, row: h("div", { className: shape.rowClass }, ...entry.controls, remove) };
    });
    rows.replaceChildren(...entries.map((entry) => entry.row));
    if (focusLast) entries.at(-1)?.row.querySelector("input, select, textarea")?.focus();
  };
  const read = (keepEmpty) =>
    entries.map(shape.read).filter((each) => keepEmpty || shape.filled(each));
  render(shape.initial);
  const add = h(
    "button",
    { type: "button", className: "add", onclick: () => render([...read(true), shape.blank], true) },
    `Add ${at.name}`,
  );
  return {
    element: groupShell(at, node, rows, add),
    read: () => read(false),
    fill() {
      for (const entry of entries) entry.field.fill?.();
    },
  };
}
