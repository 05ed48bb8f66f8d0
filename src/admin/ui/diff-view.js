// @module admin/ui/diff-view
// Shows what a change does: the admin API's structural diff (`ConfigDiff`: resources
// created, updated, deleted, with the fields that changed), and two texts side by side.
import { h } from "./dom.js";

/** The structural diff of a dry run or a version diff, as a list of changes. */
export function changeList(diff) {
  const items = [...(diff?.resources ?? [])].map((resource) =>
    h(
      "li",
      { "data-change": resource.change },
      h("strong", {}, `${resource.change} ${resource.kind} ${resource.name}`),
      resource.fields.length > 0
        ? h(
            "ul",
            {},
            resource.fields.map((field) => h("li", {}, h("code", {}, field.path))),
          )
        : null,
    ),
  );
  if (items.length === 0) return h("p", { className: "muted" }, "No changes.");
  return h("ul", { className: "changes" }, items);
}

/** Two texts side by side (`before` left, `after` right). */
export function sideBySide(before, after) {
  return h("div", { className: "side-by-side" }, h("pre", {}, before), h("pre", {}, after));
}
