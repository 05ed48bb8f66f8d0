// @module admin/ui/diff-view
// Shows what a change does: the admin API's structural diff (`ConfigDiff`: resources
// created, updated, deleted, with the fields that changed, before → after), and two texts
// side by side, line by line, added and removed lines marked by a sign as well as a colour,
// long unchanged stretches folded behind a button.
import { h } from "./dom.js";
import { diffLines } from "./vendor/diff/diff/line.js";

const changeBadges = { created: "ok", updated: "warn", deleted: "bad" };

/** A value of a field change as the page shows it: strings quoted, the rest as JSON. */
function shown(value) {
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}

/** One changed field: `path: before → after`, or added / removed. */
function fieldItem(field) {
  const path = h("code", {}, field.path);
  if (!("before" in field))
    return h("li", {}, path, " added: ", h("code", { className: "after" }, shown(field.after)));
  if (!("after" in field))
    return h("li", {}, path, " removed (was ", h("code", {}, shown(field.before)), ")");
  return h(
    "li",
    {},
    path,
    ": ",
    h("code", { className: "before" }, shown(field.before)),
    " → ",
    h("code", { className: "after" }, shown(field.after)),
  );
}

/** The structural diff of a dry run or a version diff, as a list of changes. */
export function changeList(diff) {
  const items = [...(diff?.resources ?? [])].map((resource) =>
    h(
      "li",
      { "data-change": resource.change },
      h(
        "span",
        { className: `badge badge-${changeBadges[resource.change] ?? "off"}` },
        resource.change,
      ),
      " ",
      h("strong", {}, `${resource.kind} ${resource.name}`),
      resource.fields.length > 0 ? h("ul", {}, resource.fields.map(fieldItem)) : null,
    ),
  );
  const gateway = diff?.gateway ?? [];
  if (gateway.length > 0)
    items.push(
      h(
        "li",
        { "data-change": "gateway" },
        h("span", { className: "badge badge-warn" }, "restart"),
        " ",
        h("strong", {}, "gateway"),
        " (the static section: applied by a restart)",
        h("ul", {}, gateway.map(fieldItem)),
      ),
    );
  if (items.length === 0) return h("p", { className: "muted changes-none" }, "No changes.");
  return h("ul", { className: "changes" }, items);
}

/** Unchanged lines kept around a change; a longer unchanged stretch is folded. */
const context = 3;

/**
 * The rows of a side-by-side view: `[kind, left, right]`, kind `same`, `change` (a removed
 * line beside the line added in its place), with `null` for the side that has no line.
 */
function rowsOf(before, after) {
  const rows = [];
  let left = 1;
  let right = 1;
  const parts = diffLines(before, after);
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    const lines = part.value.replace(/\n$/, "").split("\n");
    if (!part.added && !part.removed) {
      for (const text of lines) rows.push(["same", [left++, text], [right++, text]]);
      continue;
    }
    // A removal followed by an addition is a change: the two shown on the same rows.
    const next = part.removed && parts[i + 1]?.added ? parts[++i] : undefined;
    const removed = part.removed ? lines : [];
    const added = part.added ? lines : (next?.value.replace(/\n$/, "").split("\n") ?? []);
    for (let row = 0; row < Math.max(removed.length, added.length); row++) {
      rows.push([
        "change",
        row < removed.length ? [left++, removed[row]] : null,
        row < added.length ? [right++, added[row]] : null,
      ]);
    }
  }
  return rows;
}

function side(line, sign, label) {
  if (!line)
    return [
      h("td", { className: "line-number empty" }),
      h("td", { className: "empty" }),
      h("td", { className: "empty" }),
    ];
  const kind = sign === " " ? "" : sign === "+" ? "added" : "removed";
  return [
    h("td", { className: `line-number ${kind}` }, String(line[0])),
    h(
      "td",
      { className: `sign ${kind}` },
      h("span", { "aria-hidden": "true" }, sign),
      kind ? h("span", { className: "visually-hidden" }, label) : null,
    ),
    h("td", { className: `text ${kind}` }, line[1]),
  ];
}

function rowElement([kind, left, right]) {
  const same = kind === "same";
  return h(
    "tr",
    { "data-row": same ? "same" : "change" },
    side(left, same ? " " : "−", "removed"),
    side(right, same ? " " : "+", "added"),
  );
}

/** A row standing for `hidden` unchanged rows; its button shows them instead. */
function foldRow(hidden) {
  const cell = h("td", { colspan: 6, className: "fold" });
  const button = h(
    "button",
    { type: "button", className: "fold-button" },
    `Show ${hidden.length} unchanged ${hidden.length === 1 ? "line" : "lines"}`,
  );
  const row = h("tr", { "data-row": "fold" }, cell);
  button.addEventListener("click", () => row.replaceWith(...hidden.map(rowElement)));
  cell.append(button);
  return row;
}

/**
 * Two texts side by side (`before` left, `after` right), line by line: a removed line is
 * marked − and an added one +, an unchanged stretch longer than a few lines folded.
 * @param {string} before
 * @param {string} after
 * @param {{ beforeLabel?: string, afterLabel?: string }} [labels]
 */
export function sideBySide(before, after, labels = {}) {
  const rows = rowsOf(before, after);
  const body = h("tbody");
  let same = [];
  const flush = (last) => {
    const first = body.children.length === 0;
    const keepBefore = first ? 0 : context;
    const keepAfter = last ? 0 : context;
    if (same.length > keepBefore + keepAfter + 1) {
      body.append(...same.slice(0, keepBefore).map(rowElement));
      body.append(foldRow(same.slice(keepBefore, same.length - keepAfter)));
      body.append(...same.slice(same.length - keepAfter).map(rowElement));
    } else body.append(...same.map(rowElement));
    same = [];
  };
  for (const row of rows) {
    if (row[0] === "same") same.push(row);
    else {
      flush(false);
      body.append(rowElement(row));
    }
  }
  flush(true);
  const removed = rows.filter((row) => row[0] === "change" && row[1]).length;
  const added = rows.filter((row) => row[0] === "change" && row[2]).length;
  return h(
    "div",
    { className: "side-by-side-diff" },
    h(
      "p",
      { className: "diff-summary muted" },
      added + removed === 0
        ? "The two texts are the same."
        : `${added} added, ${removed} removed lines`,
    ),
    h(
      "div",
      { className: "table-wrap" },
      h(
        "table",
        { className: "diff-table" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { colspan: 3, scope: "colgroup" }, labels.beforeLabel ?? "Before"),
            h("th", { colspan: 3, scope: "colgroup" }, labels.afterLabel ?? "After"),
          ),
        ),
        body,
      ),
    ),
  );
}
