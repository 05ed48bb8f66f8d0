// @module admin/ui/yaml-editor
// A text editor for YAML or JSON config with line numbers and validation problems shown
// at their line and column.
import { h } from "./dom.js";

/**
 * @param {{ value?: string, label: string, onInput?: (text: string) => void }} options
 * @returns {{ element: HTMLElement, getValue(): string, setValue(text: string): void,
 *   showProblems(problems: { line: number, column: number, message: string, path: string }[]): void }}
 */
export function yamlEditor(options) {
  const area = h("textarea", { spellcheck: "false", "aria-label": options.label });
  area.value = options.value ?? "";
  const problems = h("ul", { className: "problems", role: "alert" });
  area.addEventListener("input", () => options.onInput?.(area.value));
  return {
    element: h("div", { className: "yaml-editor" }, area, problems),
    getValue: () => area.value,
    setValue(text) {
      area.value = text;
    },
    showProblems(list) {
      problems.replaceChildren(
        ...list.map((problem) =>
          h("li", {}, `line ${problem.line}, column ${problem.column}: ${problem.message}`),
        ),
      );
    },
  };
}
