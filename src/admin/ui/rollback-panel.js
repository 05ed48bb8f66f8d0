// @module admin/ui/rollback-panel
// A rollback shown before it is done: what serving an earlier version's resources again
// would change from the serving version (the resources, and the YAML side by side), and
// the button that does it (POST /config/rollback/:v with If-Match, so a version made
// meanwhile refuses it rather than being rolled over).
import { api } from "./api.js";
import { changeList, sideBySide } from "./diff-view.js";
import { h, replace } from "./dom.js";

/**
 * @param {{ signal: AbortSignal, yamlOf: (version: number) => Promise<string>,
 *   onRolledBack: (answer: { version: number }, version: number, current: number) => Promise<void>,
 *   onError: (error: Error) => void }} options
 */
export function rollbackPanel(options) {
  const { signal } = options;
  const element = h("section", {
    className: "card rollback",
    hidden: true,
    "aria-labelledby": "rollback-title",
  });

  function close() {
    element.hidden = true;
    replace(element);
  }

  /** Shows what rolling back to `version` changes (from `current`), and a button to do it. */
  async function offer(version, current) {
    const [diff, before, after] = await Promise.all([
      api(`/config/versions/${version}/diff`, { signal }).then((answer) => answer.body),
      options.yamlOf(current),
      options.yamlOf(version),
    ]);
    const title = h(
      "h2",
      { id: "rollback-title", tabindex: "-1" },
      `Roll back to version ${version}?`,
    );
    const confirm = h(
      "button",
      {
        type: "button",
        className: "primary",
        "data-edit": true,
        onclick: () => rollback(version, current, confirm),
      },
      `Roll back: create version ${current + 1}`,
    );
    replace(
      element,
      title,
      h(
        "p",
        {},
        `Version ${version}'s services, routes, consumers and plugins serve again as version ${current + 1}; gateway: stays as it is. What changes from version ${current}:`,
      ),
      h(
        "div",
        { className: "toolbar" },
        confirm,
        h("button", { type: "button", onclick: close }, "Cancel"),
      ),
      changeList(diff),
      sideBySide(before, after, {
        beforeLabel: `Serving (version ${current})`,
        afterLabel: `Version ${version}`,
      }),
    );
    element.hidden = false;
    title.focus();
  }

  async function rollback(version, current, button) {
    button.disabled = true;
    try {
      const answer = await api(`/config/rollback/${version}`, {
        method: "POST",
        ifMatch: current,
        signal,
      });
      close();
      await options.onRolledBack(answer.body, version, current);
    } catch (error) {
      button.disabled = false;
      options.onError(error);
    }
  }

  return { element, offer, close };
}
