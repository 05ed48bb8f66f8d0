// @module admin/ui/schema-fields
// The single fields of a schema form: one value (an input, or a select for a closed list),
// and free YAML for an option the schema leaves open; and the label, help text and error
// line every field and group of fields has; and what the form asks of a schema node (its
// alternatives, whether it is one plain value or the `${env:NAME}` reference) and how the
// paths of problems are written.
import { h } from "./dom.js";
import { parse, stringify } from "./vendor/yaml/index.js";

const envPattern = /^\^\\\$\\\{env:/;

/** The alternatives of an `anyOf`, nested ones flattened. */
export function alternatives(node) {
  return (node.anyOf ?? [node]).flatMap((each) => (each.anyOf ? alternatives(each) : [each]));
}

/** Whether `node` is the `${env:NAME}` reference a scalar option may be given as. */
export function isEnvRef(node) {
  return node.type === "string" && envPattern.test(node.pattern ?? "");
}

/** Whether `node` holds one plain value (a string, number, boolean, constant or null). */
export function isScalar(node) {
  if (node.anyOf) return alternatives(node).every(isScalar);
  if (node.const !== undefined || node.enum) return true;
  const types = [node.type].flat();
  return (
    types.length > 0 && types.every((type) => /^(string|number|integer|boolean|null)$/.test(type))
  );
}

/** A child's path: `match.paths`, `targets[0]`. */
export function childPath(path, key) {
  if (typeof key === "number") return `${path}[${key}]`;
  return path ? `${path}.${key}` : key;
}

/** A control with its label, help text and error line, registered at its path for problems. */
export function fieldShell(at, node, control) {
  const id = `field-${++at.ctx.ids}`;
  control.id = id;
  const help = node.description
    ? h("p", { className: "help", id: `${id}-help` }, prose(node.description))
    : null;
  const error = h("p", { className: "field-error", id: `${id}-error` });
  control.setAttribute("aria-describedby", help ? `${id}-help ${id}-error` : `${id}-error`);
  if (at.required) control.setAttribute("aria-required", "true");
  at.ctx.fields.set(at.path, { control, error });
  return h(
    "div",
    { className: "field" },
    h("div", { className: "field-label" }, h("label", { for: id }, at.name), mark(at)),
    control,
    help,
    error,
  );
}

/** A fieldset (legend, help, error line) around `children`, registered at its path. */
export function groupShell(at, node, ...children) {
  const id = `group-${++at.ctx.ids}`;
  const help = node.description
    ? h("p", { className: "help", id: `${id}-help` }, prose(node.description))
    : null;
  const error = h("p", { className: "field-error", id: `${id}-error` });
  const fieldset = h(
    "fieldset",
    { tabindex: "-1", "aria-describedby": help ? `${id}-help ${id}-error` : `${id}-error` },
    h("legend", {}, at.name, mark(at)),
    help,
    error,
    ...children,
  );
  at.ctx.fields.set(at.path, { control: fieldset, error });
  return fieldset;
}

/** A description as the schema writes it: `code` between backticks shown as code. */
function prose(text) {
  return text.split("`").map((part, index) => (index % 2 === 1 ? h("code", {}, part) : part));
}

function mark(at) {
  return at.required
    ? h("span", { className: "required", title: "required", "aria-hidden": "true" }, " *")
    : null;
}

/** What a scalar option may be: its kinds, its closed list of values, whether `${env:…}` is allowed. */
function kindsOf(node) {
  const all = alternatives(node);
  const env = node.env === true || all.some(isEnvRef);
  const plain = all.filter((each) => !isEnvRef(each));
  const values = plain.flatMap(
    (each) => each.enum ?? (each.const === undefined ? [] : [each.const]),
  );
  const kinds = new Set(
    plain.flatMap((each) =>
      each.const === undefined ? [each.type ?? "string"].flat() : [typeof each.const],
    ),
  );
  const closed =
    !env &&
    plain.length === 1 &&
    (plain[0].enum || (plain[0].type === "boolean" && plain[0].const === undefined));
  return { env, kinds, values: closed && !plain[0].enum ? [true, false] : values, closed };
}

/** The value typed into a field, as the schema wants it: a number, a boolean, or text. */
function coerce(text, { env, kinds }) {
  if (text === "") return undefined;
  if (env && /^\$\{env:/.test(text)) return text;
  if (kinds.has("boolean") && (text === "true" || text === "false")) return text === "true";
  if (
    (kinds.has("integer") || kinds.has("number")) &&
    text.trim() !== "" &&
    !Number.isNaN(Number(text))
  )
    return Number(text);
  if (kinds.has("null") && text === "null") return null;
  return text;
}

/** One value: a select for a closed list, else an input (suggesting the values it knows). */
export function scalarField(node, value, at) {
  const kinds = kindsOf(node);
  const shown = value === undefined ? "" : String(value);
  const fallback = ["string", "number", "boolean"].includes(typeof node.default)
    ? String(node.default)
    : "";
  let control;
  if (kinds.closed) {
    control = h(
      "select",
      {},
      h("option", { value: "" }, fallback ? `(default: ${fallback})` : "(not set)"),
    );
    for (const each of kinds.values)
      control.append(h("option", { value: String(each) }, String(each)));
  } else {
    const numeric =
      !kinds.env && kinds.kinds.size === 1 && /integer|number/.test([...kinds.kinds][0]);
    const hints = [
      ...kinds.values,
      ...(kinds.kinds.has("boolean") ? [true, false] : []),
      ...(node.examples ?? []),
      ...(at.ctx.suggest[at.path] ?? []),
    ];
    control = h("input", {
      type: numeric ? "number" : "text",
      step: numeric && kinds.kinds.has("integer") ? "1" : null,
      placeholder: fallback
        ? `default: ${fallback}`
        : kinds.env
          ? "a value or $\u007Benv:NAME}"
          : null,
      readonly: at.ctx.fixed[at.path] === true,
      autocomplete: "off",
    });
    if (hints.length > 0) {
      const list = h(
        "datalist",
        { id: `hints-${++at.ctx.ids}` },
        [...new Set(hints.map(String))].map((each) => h("option", { value: each })),
      );
      control.setAttribute("list", list.id);
      control.value = shown;
      return withShell(node, at, control, kinds, fallback, list);
    }
  }
  // A value the list does not know (written in the file by hand) is kept, not dropped.
  if (kinds.closed && shown && !kinds.values.map(String).includes(shown))
    control.append(h("option", { value: shown }, shown));
  control.value = shown;
  return withShell(node, at, control, kinds, fallback);
}

function withShell(node, at, control, kinds, fallback, list) {
  const element = fieldShell(at, node, control);
  if (list) element.append(list);
  return {
    element,
    read: () => coerce(control.value, kinds),
    fill() {
      if (control.value === "" && fallback && !control.readOnly) control.value = fallback;
    },
  };
}

/** An option the schema leaves open (any value): written as YAML. */
export function freeField(node, value, at) {
  const area = h("textarea", { rows: "4", spellcheck: "false", placeholder: "YAML" });
  area.value = value === undefined ? "" : stringify(value).trimEnd();
  return {
    element: fieldShell(at, node, area),
    read() {
      if (area.value.trim() === "") return undefined;
      try {
        return parse(area.value);
      } catch {
        // The server names what is wrong with it, at this field.
        return area.value;
      }
    },
  };
}
