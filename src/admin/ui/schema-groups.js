// @module admin/ui/schema-groups
// The grouping fields of a schema form: an object as a fieldset (an optional one folded away
// until opened), an `anyOf` of different shapes as a choice of which to give, and a plugin:
// its name, then the options of that plugin from the schema's `if name → then config` parts.
import { h } from "./dom.js";
import { alternatives, childPath, fieldShell, groupShell, isScalar } from "./schema-fields.js";

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);

/** An object: a field for each of its properties; keys the schema does not name are kept. */
export function objectField(node, value, at) {
  const { ctx } = at;
  const current = isObject(value) ? value : {};
  const required = new Set(node.required ?? []);
  const children = Object.entries(node.properties).map(([key, child]) => ({
    key,
    field: ctx.field(child, current[key], {
      ctx,
      path: childPath(at.path, key),
      name: key,
      required: required.has(key),
    }),
  }));
  const extra = Object.entries(current).filter(([key]) => !(key in node.properties));
  const elements = children.map((child) => child.field.element);
  let details;
  let element;
  if (at.root) element = h("div", { className: "fields" }, elements);
  else {
    element = groupShell(at, node, elements);
    // An optional group nobody filled in stays folded: the form shows what matters first.
    if (!at.required && !at.item && !at.open) {
      details = h("details", { open: value !== undefined }, h("summary", {}, at.name), element);
      element = details;
    }
  }
  return {
    element,
    read() {
      const out = Object.fromEntries(extra);
      for (const child of children) {
        const each = child.field.read();
        if (each !== undefined) out[child.key] = each;
      }
      return Object.keys(out).length > 0 ? out : undefined;
    },
    fill() {
      if (details && !details.open) return;
      for (const child of children) child.field.fill?.();
    },
  };
}

/** How an alternative is named in the choice: its keys, "a list", or the values it takes. */
function label(alternative) {
  if (alternative.type === "array") return "a list";
  if (alternative.properties) return `{ ${Object.keys(alternative.properties).join(", ")} }`;
  return alternative.description ?? "a value";
}

/** The alternative a value was written as: a scalar, a list, or the object whose keys fit. */
function matching(options, value) {
  if (value === undefined) return -1;
  if (!isObject(value) && !Array.isArray(value)) return options.findIndex((each) => each.scalar);
  if (Array.isArray(value)) return options.findIndex((each) => each.node.type === "array");
  const keys = Object.keys(value);
  const fits = options.findIndex(
    (each) => each.node.properties && keys.every((key) => key in each.node.properties),
  );
  return fits >= 0 ? fits : options.findIndex((each) => each.node.type === "object");
}

/** An `anyOf` of different shapes: a select of which shape to give, then that shape's field. */
export function choiceField(node, value, at) {
  const { ctx } = at;
  const all = alternatives(node);
  const scalars = all.filter(isScalar);
  const options = [
    ...(scalars.length > 0
      ? [{ scalar: true, text: "a value", node: { anyOf: scalars, default: node.default } }]
      : []),
    ...all.filter((each) => !isScalar(each)).map((each) => ({ text: label(each), node: each })),
  ];
  const select = h(
    "select",
    {},
    h("option", { value: "" }, "(not set)"),
    options.map((each, index) => h("option", { value: String(index) }, each.text)),
  );
  const chosen = matching(options, value);
  select.value = chosen >= 0 ? String(chosen) : "";
  const box = h("div", { className: "choice" });
  let inner;
  const show = (index, initial) => {
    inner = index >= 0 ? ctx.field(options[index].node, initial, { ...at, item: true }) : undefined;
    box.replaceChildren(inner?.element ?? "");
  };
  select.addEventListener("change", () => show(select.value === "" ? -1 : Number(select.value)));
  const chooser = fieldShell({ ...at, name: `${at.name} as`, path: `${at.path}#as` }, {}, select);
  show(chosen, value);
  return {
    element: groupShell(at, node, chooser, box),
    read: () => inner?.read(),
    fill: () => inner?.fill?.(),
  };
}

const other = "\u0000other";

/** A plugin: the select of its name, then its own options (or free YAML for one the schema does not know). */
export function pluginField(node, value, at) {
  const { ctx } = at;
  const current = isObject(value) ? value : {};
  const configs = new Map(
    node.allOf.map((part) => [part.if.properties.name.const, part.then.properties.config]),
  );
  const prefix = at.root ? "" : `${at.name} `;
  const select = h(
    "select",
    {},
    h("option", { value: "" }, "(choose a plugin)"),
    [...configs.keys()].map((name) => h("option", { value: name }, name)),
    h("option", { value: other }, "another (from gateway.pluginModules)"),
  );
  const custom = h("input", { type: "text", autocomplete: "off" });
  const name = current.name === undefined ? "" : String(current.name);
  select.value = name === "" || configs.has(name) ? name : other;
  if (select.value === other) custom.value = name;
  const nameAt = { ctx, path: childPath(at.path, "name"), name: `${prefix}name`, required: true };
  const nameField = fieldShell(nameAt, node.properties.name, select);
  const customField = fieldShell(
    { ctx, path: `${nameAt.path}#module`, name: `${prefix}module plugin name`, required: true },
    {},
    custom,
  );
  customField.hidden = select.value !== other;
  if (ctx.fixed[nameAt.path]) select.disabled = true;
  const box = h("div", { className: "plugin-config" });
  let config;
  const show = (initial) => {
    const schema = configs.get(select.value) ?? node.properties.config;
    const configAt = { ctx, path: childPath(at.path, "config"), name: "config", open: true };
    config = ctx.field(schema, initial, configAt);
    box.replaceChildren(select.value ? config.element : "");
  };
  select.addEventListener("change", () => {
    customField.hidden = select.value !== other;
    show(undefined);
  });
  show(current.config);
  const extra = Object.entries(current).filter(([key]) => key !== "name" && key !== "config");
  const body = h("div", {}, nameField, customField, box);
  return {
    element: at.root ? body : groupShell(at, { description: node.description }, body),
    read() {
      const chosen = select.value === other ? custom.value.trim() : select.value;
      if (!chosen) return undefined;
      const settings = config.read();
      return {
        name: chosen,
        ...(settings === undefined ? {} : { config: settings }),
        ...Object.fromEntries(extra),
      };
    },
    fill: () => config.fill?.(),
  };
}
