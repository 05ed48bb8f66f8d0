// @module admin/ui/schema-lists
// The repeated fields of a schema form: a list (of values, or of groups) and a map of names
// to values, each with buttons to add and remove an item. Removing one renders the rest
// again from what they hold, so their labels stay numbered in order.
import { h } from "./dom.js";
import { childPath, groupShell } from "./schema-fields.js";

/** A list: of values (`items` scalar) or of groups, with buttons to add and remove items. */
export function listField(node, value, at) {
  const { ctx } = at;
  const rows = h("div", { className: "list-items" });
  let items = [];
  const render = (values, focusLast) => {
    items = values.map((item, index) => {
      const name = `${at.name} ${index + 1}`;
      const field = ctx.field(node.items ?? {}, item, {
        ctx,
        path: childPath(at.path, index),
        name,
        required: false,
        item: true,
      });
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
      return { field, row: h("div", { className: "list-item" }, field.element, remove) };
    });
    rows.replaceChildren(...items.map((item) => item.row));
    if (focusLast) items.at(-1)?.row.querySelector("input, select, textarea")?.focus();
  };
  const read = (keepEmpty) =>
    items.map((item) => item.field.read()).filter((each) => keepEmpty || each !== undefined);
  render(Array.isArray(value) ? value : []);
  const add = h(
    "button",
    { type: "button", className: "add", onclick: () => render([...read(true), undefined], true) },
    `Add ${at.name}`,
  );
  return {
    element: groupShell(at, node, rows, add),
    read() {
      const values = read(false);
      return values.length > 0 ? values : undefined;
    },
    fill() {
      for (const item of items) item.field.fill?.();
    },
  };
}

/** A map of names to values (`additionalProperties`): rows of a name and its value. */
export function mapField(node, value, at) {
  const { ctx } = at;
  const rows = h("div", { className: "list-items" });
  let entries = [];
  const render = (pairs, focusLast) => {
    entries = pairs.map(([key, item], index) => {
      const name = `${at.name} ${index + 1}`;
      const keyInput = h("input", {
        type: "text",
        autocomplete: "off",
        "aria-label": `${name} name`,
      });
      keyInput.value = key;
      const field = ctx.field(node.additionalProperties, item, {
        ctx,
        path: childPath(at.path, key || String(index)),
        name: `${name} value`,
        required: false,
        item: true,
      });
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
      return {
        keyInput,
        field,
        row: h("div", { className: "list-item map-item" }, keyInput, field.element, remove),
      };
    });
    rows.replaceChildren(...entries.map((entry) => entry.row));
    if (focusLast) entries.at(-1)?.keyInput.focus();
  };
  const read = (keepEmpty) =>
    entries
      .map((entry) => [entry.keyInput.value.trim(), entry.field.read()])
      .filter(([key, item]) => keepEmpty || (key && item !== undefined));
  render(Object.entries(value && typeof value === "object" ? value : {}));
  const add = h(
    "button",
    {
      type: "button",
      className: "add",
      onclick: () => render([...read(true), ["", undefined]], true),
    },
    `Add ${at.name}`,
  );
  return {
    element: groupShell(at, node, rows, add),
    read() {
      const pairs = read(false);
      return pairs.length > 0 ? Object.fromEntries(pairs) : undefined;
    },
    fill() {
      for (const entry of entries) entry.field.fill?.();
    },
  };
}
