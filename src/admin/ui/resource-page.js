// @module admin/ui/resource-page
// The pages of routes, services, consumers and global plugins, built from one description of
// each kind: the list (filtered as you type), one resource (with its YAML), and the editor.
// `#/routes` lists, `#/routes/NAME` shows one, `?edit` edits it, `#/routes?new` creates one.
// A read-only key gets no edit control at all (not merely hidden ones).
import { api } from "./api.js";
import { h, replace } from "./dom.js";
import { renderEditor } from "./resource-editor.js";
import { review, setNotice, takeNotice } from "./resource-review.js";
import { stringify } from "./vendor/yaml/index.js";

/**
 * A page for one kind of resource.
 * @param {{ id: string, title: string, section: string, noun: string,
 *   columns: { title: string, value(resource: object): string }[],
 *   suggest?(config: object): Record<string, string[]> }} kind
 */
export function resourcePage(kind) {
  return {
    id: kind.id,
    title: kind.title,
    render(view, ctx) {
      const [name] = ctx.path;
      const canEdit = !ctx.caller?.readOnly;
      if (name === undefined) {
        if (canEdit && ctx.query.has("new")) return renderEditor(view, ctx, kind);
        return renderList(view, ctx, kind, canEdit);
      }
      if (canEdit && ctx.query.has("edit")) return renderEditor(view, ctx, kind, name);
      return renderDetail(view, ctx, kind, name, canEdit);
    },
  };
}

/** A list joined for a cell: `a, b`; `–` for none. */
export function joined(values) {
  return values && values.length > 0 ? values.join(", ") : "–";
}

/** The names of a resource's plugins, for a column. */
export function pluginNames(resource) {
  return joined((resource.plugins ?? []).map((plugin) => plugin.name));
}

const href = (kind, name) => `#/${kind.id}/${encodeURIComponent(name)}`;

async function renderList(view, ctx, kind, canEdit) {
  const { body } = await api(`/${kind.section}`, { signal: ctx.signal });
  const items = body.data;
  const search = h("input", { type: "search", id: "resource-search", autocomplete: "off" });
  const count = h("p", { className: "muted", "aria-live": "polite" });
  const rows = items.map((item) => {
    const cells = kind.columns.map((column) => column.value(item));
    const row = h(
      "tr",
      {},
      h("td", {}, h("a", { href: href(kind, item.name) }, item.name)),
      cells.map((cell) => h("td", {}, cell)),
    );
    return { row, text: [item.name, ...cells].join(" ").toLowerCase() };
  });
  const filter = () => {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const { row, text } of rows) {
      row.hidden = !words.every((word) => text.includes(word));
      if (!row.hidden) shown += 1;
    }
    count.textContent = `${shown} of ${items.length} ${kind.section}`;
  };
  search.addEventListener("input", filter);
  filter();
  replace(
    view,
    h("h1", {}, kind.title),
    takeNotice(),
    h(
      "div",
      { className: "toolbar resource-search" },
      h("label", { for: "resource-search" }, `Search ${kind.section}`),
      search,
      canEdit
        ? h(
            "a",
            { className: "button primary", href: `#/${kind.id}?new`, "data-edit": "" },
            `New ${kind.noun}`,
          )
        : null,
    ),
    count,
    items.length === 0
      ? h("p", { className: "muted" }, `No ${kind.section} yet.`)
      : h(
          "div",
          { className: "table-wrap" },
          h(
            "table",
            { className: "resource-list" },
            h(
              "thead",
              {},
              h(
                "tr",
                {},
                h("th", { scope: "col" }, "Name"),
                kind.columns.map((column) => h("th", { scope: "col" }, column.title)),
              ),
            ),
            h(
              "tbody",
              {},
              rows.map((each) => each.row),
            ),
          ),
        ),
  );
}

async function renderDetail(view, ctx, kind, name, canEdit) {
  const path = `/${kind.section}/${encodeURIComponent(name)}`;
  const { body: resource } = await api(path, { signal: ctx.signal });
  const panel = h("section", { className: "resource-review", "aria-live": "polite" });
  const remove = () =>
    review({
      panel,
      section: kind.section,
      name,
      signal: ctx.signal,
      confirmLabel: `Delete ${kind.noun} ${name}`,
      change: (items) => items.filter((item) => item.name !== name),
      onProblems: () => {},
      commit: (version) => api(path, { method: "DELETE", ifMatch: version }),
      done(version) {
        setNotice(`Deleted ${kind.noun} ${name}: version ${version} is serving.`);
        ctx.navigate(`#/${kind.id}`);
      },
    });
  replace(
    view,
    h("p", {}, h("a", { href: `#/${kind.id}` }, `All ${kind.section}`)),
    h("h1", {}, `${kind.noun[0].toUpperCase()}${kind.noun.slice(1)} ${name}`),
    takeNotice(),
    canEdit
      ? h(
          "div",
          { className: "actions" },
          h(
            "a",
            { className: "button primary", href: `${href(kind, name)}?edit`, "data-edit": "" },
            "Edit",
          ),
          h(
            "a",
            { className: "button", href: `${href(kind, name)}?edit&tab=yaml`, "data-edit": "" },
            "Edit as YAML",
          ),
          h(
            "button",
            { type: "button", className: "danger", "data-edit": "", onclick: remove },
            "Delete",
          ),
        )
      : null,
    h(
      "dl",
      { className: "summary" },
      kind.columns.flatMap((column) => [
        h("dt", {}, column.title),
        h("dd", {}, column.value(resource)),
      ]),
    ),
    h("h2", {}, "As written in the config"),
    h("pre", { className: "resource-yaml" }, stringify(resource)),
    panel,
  );
}
