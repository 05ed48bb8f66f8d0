// @module admin/ui/schema-form
// A form generated from the config's JSON Schema (GET /schema): one field per option, its
// description as help text, required ones marked. It reads back the smallest document that
// says what the user filled in: an empty field is left out, never written as its default.
import { api } from "./api.js";
import { h } from "./dom.js";
import { alternatives, freeField, isEnvRef, isScalar, scalarField } from "./schema-fields.js";
import { choiceField, objectField, pluginField } from "./schema-groups.js";
import { listField, mapField } from "./schema-lists.js";

let schema;

/** The config's JSON Schema, fetched once per page load (it changes only with the gateway). */
export function configSchema() {
  schema ??= api("/schema").then(
    (answer) => answer.body,
    (error) => {
      schema = undefined;
      throw error;
    },
  );
  return schema;
}

/**
 * The field for `node` at `at` (`{ ctx, path, name, required }`): the one place that decides
 * which kind of control a schema gets.
 * @returns {{ element: HTMLElement, read(): unknown, fill?(): void }}
 */
function field(node, value, at) {
  if (node.allOf?.some((part) => part.if?.properties?.name?.const))
    return pluginField(node, value, at);
  if (node.anyOf) {
    const kept = alternatives(node).filter((each) => !isEnvRef(each));
    if (kept.length === 1 && !kept[0].anyOf)
      return field(
        { ...kept[0], ...node, anyOf: undefined, env: kept.length < alternatives(node).length },
        value,
        at,
      );
    if (isScalar(node)) return scalarField(node, value, at);
    return choiceField(node, value, at);
  }
  if (node.type === "array") {
    return isScalar(node.items ?? {})
      ? listField(node, value, at)
      : listField(node, value, at, true);
  }
  if (node.type === "object") {
    const extra = node.additionalProperties;
    if (node.properties) return objectField(node, value, at);
    if (extra && typeof extra === "object" && Object.keys(extra).length > 0)
      return mapField(node, value, at);
    return freeField(node, value, at);
  }
  if (isScalar(node)) return scalarField(node, value, at);
  return freeField(node, value, at);
}

/**
 * A form for `node` filled with `value`. `options.fixed` names fields shown but not editable
 * (the name of a resource being edited), `options.suggest` offers values for a field by path.
 * @param {object} node
 * @param {unknown} value
 * @param {{ label?: string, fixed?: Record<string, boolean>, suggest?: Record<string, string[]> }} [options]
 */
export function schemaForm(node, value, options = {}) {
  const ctx = {
    field,
    fields: new Map(),
    ids: 0,
    fixed: options.fixed ?? {},
    suggest: options.suggest ?? {},
  };
  const root = field(node, value, {
    ctx,
    path: "",
    name: options.label ?? "",
    required: true,
    root: true,
  });
  const general = h("ul", { className: "problems", role: "alert" });
  return {
    element: h("div", { className: "schema-form" }, root.element, general),
    /** The document the form says, without the fields left empty. */
    getValue: () => root.read() ?? {},
    /** Fills the empty fields shown with their defaults. */
    fillDefaults: () => root.fill?.(),
    /**
     * Shows each problem (`{ path, message }`, the path relative to the form) at its field, or
     * at the nearest enclosing one; those with no field go to a list below the form.
     */
    showProblems(problems) {
      for (const { control, error } of ctx.fields.values()) {
        control.removeAttribute("aria-invalid");
        error.replaceChildren();
      }
      general.replaceChildren();
      let first;
      for (const problem of problems) {
        const target = nearest(ctx.fields, problem.path);
        if (!target) {
          general.append(
            h("li", {}, problem.path ? `${problem.path}: ${problem.message}` : problem.message),
          );
          continue;
        }
        target.control.setAttribute("aria-invalid", "true");
        target.error.append(h("span", {}, problem.message));
        first ??= target.control;
      }
      first?.focus();
    },
  };
}

function nearest(fields, path) {
  let at = path;
  for (;;) {
    const found = fields.get(at);
    if (found?.control.isConnected) return found;
    if (!at) return undefined;
    const parent = at.replace(/(\.[^.[\]]*|\[\d+\])$/, "");
    at = parent === at ? "" : parent;
  }
}
