// @module admin/ui/resource-editor
// Creating or editing one route, service, consumer or global plugin: a form generated from the
// schema, or the same resource as YAML (two tabs over one value), then saved through the
// review (dry run, diff, confirmation, If-Match). Problems show at their field, or at their
// line and column in the YAML.
import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { dryRun, review, setNotice } from "./resource-review.js";
import { configSchema, schemaForm } from "./schema-form.js";
import { LineCounter, parseDocument, stringify } from "./vendor/yaml/index.js";
import { yamlEditor } from "./yaml-editor.js";

/** Where a problem's path (`match.paths[0]`) is in `text`: the line and column of its node. */
function located(text, problems) {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter });
  return problems.map((problem) => {
    const keys = (problem.path.match(/[^.[\]]+/g) ?? []).map((key) =>
      /^\d+$/.test(key) ? Number(key) : key,
    );
    let node;
    while (!node && keys.length > 0) {
      node = document.getIn(keys, true);
      if (!node?.range) keys.pop();
    }
    const position = lineCounter.linePos(node?.range?.[0] ?? 0);
    return { ...problem, line: position.line, column: position.col };
  });
}

/** The resource `text` says (an object), or the problems that keep it from parsing. */
function readYaml(text) {
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    const problems = document.errors.map((error) => ({
      line: error.linePos?.[0]?.line ?? 1,
      column: error.linePos?.[0]?.col ?? 1,
      message: error.message.split("\n")[0],
      path: "",
    }));
    return { problems };
  }
  const value = document.toJS();
  return {
    value: value && typeof value === "object" && !Array.isArray(value) ? value : {},
    problems: [],
  };
}

/** The resource the YAML says, or undefined (its parse errors shown at their lines). */
function parsed(editor) {
  const { value, problems } = readYaml(editor.getValue());
  editor.showProblems(problems);
  return value;
}

/**
 * Renders the editor of `kind` (a page's description: `{ id, section, noun, suggest? }`) for
 * the resource named `name`, or for a new one.
 */
export async function renderEditor(view, ctx, kind, name) {
  const path = name === undefined ? undefined : `/${kind.section}/${encodeURIComponent(name)}`;
  const [schema, config, answer] = await Promise.all([
    configSchema(),
    api("/config", { signal: ctx.signal }),
    path ? api(path, { signal: ctx.signal }) : Promise.resolve({ body: {} }),
  ]);
  const node = schema.properties[kind.section].items;
  const options = {
    fixed: name === undefined ? {} : { name: true },
    suggest: kind.suggest?.(config.body) ?? {},
  };
  let form = schemaForm(node, answer.body, options);
  /** The section's resources with `value` added, or in place of the one edited. */
  const changeWith = (value) => (items) =>
    name === undefined
      ? [...items, value]
      : items.map((item) => (item.name === name ? value : item));
  // The YAML is checked as you type: the whole config with it goes through the dry run.
  const validate = async (text, signal) => {
    const { value, problems } = readYaml(text);
    if (!value) return { problems };
    try {
      const result = await dryRun(kind.section, value.name, changeWith(value), signal);
      return { problems: located(text, result.own) };
    } catch (error) {
      if (signal.aborted) throw error;
      return { problems: [{ line: 1, column: 1, message: error.message, path: "" }] };
    }
  };
  const label = `The ${kind.noun} as YAML`;
  const editor = yamlEditor({ value: "", label, validate, signal: ctx.signal });
  const formPanel = h(
    "div",
    { role: "tabpanel", id: "panel-form", "aria-labelledby": "tab-form" },
    form.element,
  );
  const yamlPanel = h(
    "div",
    { role: "tabpanel", id: "panel-yaml", "aria-labelledby": "tab-yaml" },
    editor.element,
  );
  const tabs = {
    form: h(
      "button",
      { type: "button", role: "tab", id: "tab-form", "aria-controls": "panel-form" },
      "Form",
    ),
    yaml: h(
      "button",
      { type: "button", role: "tab", id: "tab-yaml", "aria-controls": "panel-yaml" },
      "Edit as YAML",
    ),
  };
  const defaults = h(
    "button",
    { type: "button", onclick: () => form.fillDefaults() },
    "Fill in defaults",
  );
  let tab = "form";
  const select = (next) => {
    if (next === tab) return;
    if (next === "yaml") {
      const value = form.getValue();
      // A new resource not yet filled in starts as an empty text, not `{}`.
      editor.setValue(Object.keys(value).length > 0 ? stringify(value) : "");
    } else {
      const value = parsed(editor);
      if (!value) return;
      form = schemaForm(node, value, options);
      replace(formPanel, form.element);
    }
    tab = next;
    for (const [id, button] of Object.entries(tabs))
      button.setAttribute("aria-selected", String(id === tab));
    formPanel.hidden = tab !== "form";
    yamlPanel.hidden = tab !== "yaml";
    defaults.hidden = tab !== "form";
  };
  tabs.form.setAttribute("aria-selected", "true");
  yamlPanel.hidden = true;
  tabs.form.addEventListener("click", () => select("form"));
  tabs.yaml.addEventListener("click", () => select("yaml"));
  // Arrow keys move between the tabs, as in any tab list.
  const tablist = h(
    "div",
    { className: "tabs", role: "tablist", "aria-label": "Edit as" },
    tabs.form,
    tabs.yaml,
  );
  tablist.addEventListener("keydown", (event) => {
    if (event.key !== "ArrowLeft" && event.key !== "ArrowRight") return;
    const next = tab === "form" ? "yaml" : "form";
    select(next);
    tabs[tab].focus();
  });
  if (ctx.query.get("tab") === "yaml") select("yaml");

  const panel = h("section", { className: "resource-review", "aria-live": "polite" });
  const save = async () => {
    const value = tab === "form" ? form.getValue() : parsed(editor);
    if (!value) return;
    const showProblems = (problems) => {
      if (tab === "form") form.showProblems(problems);
      else editor.showProblems(located(editor.getValue(), problems));
    };
    if (name !== undefined && value.name !== name) {
      // PUT cannot rename: a rename is a new resource and the old one deleted.
      const message = `the name stays "${name}": to rename, create a new ${kind.noun} and delete this one`;
      return showProblems([{ path: "name", message }]);
    }
    const own = value.name;
    await review({
      panel,
      section: kind.section,
      name: own,
      signal: ctx.signal,
      confirmLabel: name === undefined ? `Create ${kind.noun}` : `Save ${kind.noun}`,
      change: changeWith(value),
      onProblems: showProblems,
      commit: (version) =>
        name === undefined
          ? api(`/${kind.section}`, { method: "POST", body: value, ifMatch: version })
          : api(path, { method: "PUT", body: value, ifMatch: version }),
      done(version) {
        setNotice(`Saved ${kind.noun} ${own}: version ${version} is serving.`);
        ctx.navigate(`#/${kind.id}/${encodeURIComponent(own)}`);
      },
    });
  };
  // Ctrl+S (Cmd+S) reviews and saves, from the form or the YAML.
  view.addEventListener(
    "keydown",
    (event) => {
      if (event.key.toLowerCase() !== "s" || !(event.ctrlKey || event.metaKey) || event.altKey)
        return;
      event.preventDefault();
      save();
    },
    { signal: ctx.signal },
  );
  const back = name === undefined ? `#/${kind.id}` : `#/${kind.id}/${encodeURIComponent(name)}`;
  replace(
    view,
    h(
      "p",
      {},
      h("a", { href: back }, name === undefined ? `All ${kind.section}` : `Back to ${name}`),
    ),
    h("h1", {}, name === undefined ? `New ${kind.noun}` : `Edit ${kind.noun} ${name}`),
    h(
      "p",
      { className: "muted" },
      "Fields marked * are required; a field left empty is left out (its default applies).",
    ),
    tablist,
    formPanel,
    yamlPanel,
    h(
      "div",
      { className: "actions" },
      h(
        "button",
        { type: "button", className: "primary", "data-edit": "", onclick: save },
        "Review and save",
      ),
      defaults,
      h("a", { href: back, className: "button" }, "Cancel"),
    ),
    panel,
  );
}
