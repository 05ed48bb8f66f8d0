// @module admin/ui/pages/config
// The config editor: the whole serving config as YAML, checked as you type by the dry run
// (POST /config/validate: problems at their line and column), then reviewed — the
// resources it changes and the YAML side by side with the serving one — and saved with
// PUT /config and If-Match, so an edit made on top of a version that is no longer serving
// is refused, not applied over someone else's change. Ctrl/Cmd+S opens the review.
import { api } from "../api.js";
import { changeList, sideBySide } from "../diff-view.js";
import { errorAlert, h, replace } from "../dom.js";
import { yamlEditor } from "../yaml-editor.js";

export default {
  id: "config",
  title: "Config",
  async render(view, ctx) {
    const readOnly = ctx.caller.readOnly;
    /** The serving config the edit started from: its YAML and version. */
    let base = await load(ctx.signal);
    const versionText = h("span", {}, `Serving version ${base.version}.`);
    const state = h("p", { className: "validation-state", role: "status" });
    const message = h("div", { className: "config-message" });
    const editor = yamlEditor({
      value: base.text,
      label: "The whole config, as YAML",
      readOnly,
      onInput: () => {
        state.textContent = "Checking…";
        reloadButton.textContent = "Reload";
      },
      validate: dryRun,
      signal: ctx.signal,
    });
    const reviewButton = h(
      "button",
      {
        type: "button",
        className: "primary",
        "data-edit": true,
        onclick: () => review().catch(showError),
      },
      "Review and save",
    );
    const reloadButton = h(
      "button",
      { type: "button", onclick: () => reload(false).catch(showError) },
      "Reload",
    );
    const editing = h(
      "section",
      { "aria-label": "Editor" },
      h(
        "div",
        { className: "toolbar" },
        readOnly ? null : reviewButton,
        reloadButton,
        readOnly ? null : h("span", { className: "muted" }, "Ctrl+S (⌘S) reviews the change."),
      ),
      state,
      editor.element,
    );
    const reviewing = h("section", {
      className: "review",
      hidden: true,
      "aria-labelledby": "review-title",
    });
    replace(
      view,
      h("h1", {}, "Config"),
      h(
        "p",
        { className: "muted" },
        versionText,
        readOnly
          ? " Your key is read-only: the config is shown, not editable."
          : " Services, routes, consumers and plugins apply at once; a change of gateway: needs a restart and is refused here.",
      ),
      message,
      editing,
      reviewing,
    );

    /** The dry run of `text`: its problems shown by the editor, its verdict here. */
    async function dryRun(text, signal) {
      let result;
      try {
        result = (await api("/config/validate", { method: "POST", yaml: text, signal })).body;
      } catch (error) {
        if (signal.aborted) return undefined;
        // Empty, or not a mapping: the API refuses it before the dry run; shown the same way.
        if (error.status !== 400) {
          state.textContent = "Not checked: the gateway did not answer the dry run.";
          showError(error);
          return undefined;
        }
        const problem = { line: 1, column: 1, message: error.message, path: "" };
        result = { valid: false, problems: [problem], diff: null };
      }
      const count = result.diff ? result.diff.resources.length : 0;
      state.textContent = !result.valid
        ? "Not valid: see the problems below the editor."
        : text === base.text
          ? "Valid. No edits yet."
          : `Valid: changes ${count} ${count === 1 ? "resource" : "resources"}${result.diff.gateway.length > 0 ? " and gateway:" : ""}.`;
      if (result.diff && result.diff.from !== base.version)
        state.textContent += ` Version ${result.diff.from} is serving now, not ${base.version}: reload before you save.`;
      return result;
    }

    async function review() {
      if (readOnly || !editing.isConnected) return;
      replace(message);
      const result = await editor.check();
      if (!result) return;
      if (!result.valid) {
        editor.element.querySelector(".problem-link")?.focus();
        return;
      }
      if (result.diff.resources.length === 0 && result.diff.gateway.length === 0) {
        replace(
          message,
          h(
            "p",
            { className: "notice", role: "status" },
            "Nothing to save: this is the serving config.",
          ),
        );
        return;
      }
      const save = h(
        "button",
        { type: "button", className: "primary", "data-edit": true, onclick: () => saveEdit(save) },
        `Save as version ${base.version + 1}`,
      );
      const title = h(
        "h2",
        { id: "review-title", tabindex: "-1" },
        `Review: saving creates version ${base.version + 1}`,
      );
      replace(
        reviewing,
        title,
        h(
          "div",
          { className: "toolbar" },
          save,
          h("button", { type: "button", onclick: () => backToEditing() }, "Back to editing"),
        ),
        h("h3", {}, "What changes"),
        changeList(result.diff),
        h("h3", {}, "The YAML"),
        sideBySide(base.text, editor.getValue(), {
          beforeLabel: `Serving (version ${base.version})`,
          afterLabel: "Your edit",
        }),
      );
      editing.hidden = true;
      reviewing.hidden = false;
      title.focus();
    }

    function backToEditing() {
      reviewing.hidden = true;
      editing.hidden = false;
      editor.textarea.focus();
    }

    async function saveEdit(button) {
      button.disabled = true;
      try {
        const answer = await api("/config", {
          method: "PUT",
          yaml: editor.getValue(),
          ifMatch: base.version,
          signal: ctx.signal,
        });
        base = await load(ctx.signal);
        editor.setValue(base.text);
        versionText.textContent = `Serving version ${base.version}.`;
        state.textContent = "";
        backToEditing();
        const saved =
          answer.body.result === "unchanged"
            ? `Nothing changed: version ${answer.body.version} serves.`
            : `Saved: version ${answer.body.version} is serving.`;
        replace(message, h("p", { className: "notice notice-ok", role: "status" }, saved));
      } catch (error) {
        button.disabled = false;
        if (ctx.signal.aborted) return;
        backToEditing();
        showError(error);
      }
    }

    /** Loads the serving config into the editor; an edit is dropped only when asked twice. */
    async function reload(confirmed) {
      if (!confirmed && editor.getValue() !== base.text && reloadButton.textContent === "Reload") {
        reloadButton.textContent = "Discard your edit and reload";
        return;
      }
      reloadButton.textContent = "Reload";
      base = await load(ctx.signal);
      editor.setValue(base.text);
      versionText.textContent = `Serving version ${base.version}.`;
      state.textContent = "";
      replace(message);
      backToEditing();
    }

    function showError(error) {
      if (ctx.signal.aborted || error.name === "AbortError") return;
      if (error.status === 409 || error.status === 412) {
        replace(
          message,
          h(
            "div",
            { className: "alert", role: "alert" },
            h("strong", {}, "Not saved: the config changed since you loaded it. "),
            `Your edit was made on version ${base.version}; someone (or the config file) has made a newer one. `,
            "Reload to start again from the version serving now (copy your edit first to keep it).",
            h(
              "div",
              { className: "toolbar" },
              h(
                "button",
                { type: "button", onclick: () => reload(true).catch(showError) },
                "Reload the serving config",
              ),
            ),
          ),
        );
        return;
      }
      replace(
        message,
        errorAlert(error),
        error.problems?.length > 0
          ? h(
              "ul",
              { className: "problems" },
              error.problems.map((problem) => h("li", {}, problem)),
            )
          : null,
      );
    }

    document.addEventListener(
      "keydown",
      (event) => {
        if (event.key.toLowerCase() !== "s" || !(event.ctrlKey || event.metaKey) || event.altKey)
          return;
        event.preventDefault();
        if (!reviewing.hidden) reviewing.querySelector("button.primary")?.focus();
        else review().catch(showError);
      },
      { signal: ctx.signal },
    );
  },
};

/** The serving config as YAML, as GET /config exports it (secrets redacted), and its version. */
async function load(signal) {
  const answer = await api("/config?format=yaml", { signal });
  return { text: answer.body ?? "", version: answer.version };
}
