// @module admin/ui/yaml-editor
// A text editor for YAML or JSON config: a plain textarea (so undo, selection, screen
// readers and the phone keyboard all work as usual) with a line-number gutter kept in step
// with its scrolling, Tab and Shift+Tab to indent, checked as you type (after a pause) by
// the `validate` it is given, and the problems listed at their line and column, each a
// button that puts the caret there, their lines marked in the gutter.
import { h } from "./dom.js";

const indent = "  ";
/** How long typing must pause before the text is checked. */
const validateDelay = 400;
let editors = 0;

/**
 * @typedef {{ line: number, column: number, message: string, path?: string }} Problem
 * @typedef {{ problems: Problem[] }} Checked what `validate` answers (it may hold more)
 * @param {{ value?: string, label: string, readOnly?: boolean,
 *   onInput?: (text: string) => void,
 *   validate?: (text: string, signal: AbortSignal) => Promise<Checked | undefined>,
 *   signal?: AbortSignal }} options `validate` (e.g. POST /config/validate) is called
 *   after each pause in typing and its problems shown; a newer edit aborts its `signal`.
 * @returns {{ element: HTMLElement, textarea: HTMLTextAreaElement, getValue(): string,
 *   setValue(text: string): void, focusAt(line: number, column: number): void,
 *   check(): Promise<Checked | undefined>, showProblems(problems: Problem[]): void }}
 */
export function yamlEditor(options) {
  const id = `yaml-editor-${++editors}`;
  const hint = h(
    "p",
    { className: "muted editor-hint", id: `${id}-hint` },
    options.readOnly
      ? "Read only."
      : "Tab indents by two spaces, Shift+Tab outdents. To leave the editor with the keyboard, press Esc, then Tab.",
  );
  const area = /** @type {HTMLTextAreaElement} */ (
    h("textarea", {
      id,
      spellcheck: "false",
      autocapitalize: "off",
      autocomplete: "off",
      wrap: "off",
      "aria-label": options.label,
      "aria-describedby": `${id}-hint`,
      readonly: options.readOnly === true,
    })
  );
  area.value = options.value ?? "";
  // Numbers only: the problems list says the same to a screen reader.
  const gutter = h("div", { className: "gutter", "aria-hidden": "true" });
  const status = h("p", { className: "problems-status", role: "status" });
  const list = h("ul", { className: "problems" });
  let marked = new Set();

  /** Keeps one gutter row per line, adding or removing only the difference. */
  function renumber() {
    const lines = area.value.split("\n").length;
    while (gutter.children.length < lines) {
      const row = h("div", {}, String(gutter.children.length + 1));
      if (marked.has(gutter.children.length + 1)) row.classList.add("has-problem");
      gutter.append(row);
    }
    while (gutter.children.length > lines) gutter.lastElementChild?.remove();
    gutter.scrollTop = area.scrollTop;
  }

  function focusAt(line, column) {
    const lines = area.value.split("\n");
    const row = Math.min(Math.max(line, 1), lines.length);
    let offset = 0;
    for (let i = 0; i < row - 1; i++) offset += lines[i].length + 1;
    offset += Math.min(Math.max(column - 1, 0), lines[row - 1].length);
    area.focus();
    area.setSelectionRange(offset, offset);
    // The caret's line a third of the way down, so what comes before it shows too.
    const lineHeight = Number.parseFloat(getComputedStyle(area).lineHeight) || 20;
    area.scrollTop = Math.max(0, (row - 1) * lineHeight - area.clientHeight / 3);
    gutter.scrollTop = area.scrollTop;
  }

  area.addEventListener("scroll", () => {
    gutter.scrollTop = area.scrollTop;
  });
  let timer;
  let checking = new AbortController();
  /** The last answer of `validate`, with the text it was for. */
  let checked;
  /** Checks the text now (a pending check is dropped), or gives the answer it already has. */
  async function check() {
    clearTimeout(timer);
    const text = area.value;
    if (!options.validate) return undefined;
    if (checked?.text === text) return checked.result;
    checking.abort();
    checking = new AbortController();
    const signal = options.signal
      ? AbortSignal.any([checking.signal, options.signal])
      : checking.signal;
    let result;
    try {
      result = await options.validate(text, signal);
    } catch (error) {
      // A newer edit (or leaving the page) made this answer moot.
      if (signal.aborted) return undefined;
      throw error;
    }
    if (signal.aborted || !result) return undefined;
    checked = { text, result };
    show(result.problems);
    return result;
  }
  options.signal?.addEventListener("abort", () => {
    clearTimeout(timer);
    checking.abort();
  });

  area.addEventListener("input", () => {
    renumber();
    options.onInput?.(area.value);
    if (!options.validate) return;
    clearTimeout(timer);
    // `validate` shows its own failures; one it throws is a bug, reported as such.
    timer = setTimeout(() => check().catch(reportError), validateDelay);
  });
  let escaped = false;
  area.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      escaped = true;
      return;
    }
    const leaving = escaped;
    escaped = false;
    if (event.key !== "Tab" || leaving || area.readOnly) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    event.preventDefault();
    if (event.shiftKey) outdent(area);
    else indentSelection(area);
  });

  renumber();
  return {
    element: h(
      "div",
      { className: "yaml-editor" },
      h("div", { className: "editor-frame" }, gutter, area),
      hint,
      status,
      list,
    ),
    textarea: area,
    getValue: () => area.value,
    setValue(text) {
      area.value = text;
      clearTimeout(timer);
      checking.abort();
      checked = undefined;
      show([]);
      renumber();
    },
    focusAt,
    check,
    showProblems: show,
  };

  function show(problems) {
    marked = new Set(problems.map((problem) => problem.line));
    for (const [index, row] of [...gutter.children].entries()) {
      row.classList.toggle("has-problem", marked.has(index + 1));
    }
    status.textContent =
      problems.length === 0
        ? ""
        : `${problems.length} ${problems.length === 1 ? "problem" : "problems"}`;
    list.replaceChildren(
      ...problems.map((problem) =>
        h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              className: "problem-link",
              "data-line": problem.line,
              onclick: () => focusAt(problem.line, problem.column),
            },
            `line ${problem.line}, column ${problem.column}: ${problem.message}`,
            problem.path ? ` (${problem.path})` : "",
          ),
        ),
      ),
    );
  }
}

/**
 * Replaces the selection with `text` through the browser's editing command, so Ctrl+Z
 * undoes it like typing; setRangeText where that command is gone.
 */
function insert(area, text) {
  if (!document.execCommand("insertText", false, text)) {
    area.setRangeText(text, area.selectionStart, area.selectionEnd, "end");
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }
}

/** The start of the first selected line and the end of the last. */
function selectedLines(area) {
  const { value, selectionStart, selectionEnd } = area;
  const start = value.lastIndexOf("\n", selectionStart - 1) + 1;
  // A selection ending at a line's very start does not take that line.
  const last = selectionEnd > selectionStart && value[selectionEnd - 1] === "\n";
  const endAt = last ? selectionEnd - 1 : selectionEnd;
  const newline = value.indexOf("\n", endAt);
  return { start, end: newline < 0 ? value.length : newline };
}

function indentSelection(area) {
  if (!area.value.slice(area.selectionStart, area.selectionEnd).includes("\n")) {
    insert(area, indent);
    return;
  }
  const { start, end } = selectedLines(area);
  const lines = area.value.slice(start, end).split("\n");
  const text = lines.map((line) => (line === "" ? line : indent + line)).join("\n");
  area.setSelectionRange(start, end);
  insert(area, text);
  area.setSelectionRange(start, start + text.length);
}

function outdent(area) {
  const { start, end } = selectedLines(area);
  const caret = area.selectionStart;
  const lines = area.value.slice(start, end).split("\n");
  const removed = lines.map((line) => /^ {0,2}/.exec(line)?.[0].length ?? 0);
  if (removed.every((count) => count === 0)) return;
  const text = lines.map((line, index) => line.slice(removed[index])).join("\n");
  const single = lines.length === 1;
  area.setSelectionRange(start, end);
  insert(area, text);
  if (single) {
    const at = Math.max(start, caret - removed[0]);
    area.setSelectionRange(at, at);
  } else area.setSelectionRange(start, start + text.length);
}
