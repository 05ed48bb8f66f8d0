// @module admin/ui/pages/versions
// The config versions the gateway keeps: who made each, when and from where; any two
// compared (the resources that changed, and their YAML side by side); and a rollback to
// one, which first shows what it would change and then asks to confirm.
import { api } from "../api.js";
import { changeList, sideBySide } from "../diff-view.js";
import { badge, errorAlert, formatTime, h, replace } from "../dom.js";
import { rollbackPanel } from "../rollback-panel.js";
import { stringify } from "../vendor/yaml/index.js";

export default {
  id: "versions",
  title: "Versions",
  async render(view, ctx) {
    const { signal } = ctx;
    const readOnly = ctx.caller.readOnly;
    /** YAML of each version fetched so far, as GET /config?format=yaml would write it. */
    const texts = new Map();
    const yamlOf = async (version) => {
      if (!texts.has(version)) {
        const { config } = (await api(`/config/versions/${version}`, { signal })).body;
        texts.set(version, stringify(config, { lineWidth: 0 }));
      }
      return texts.get(version);
    };

    const intro = h("p", { className: "muted" });
    const message = h("div", {});
    const rollback = rollbackPanel({
      signal,
      yamlOf,
      onError: (error) => showError(error),
      async onRolledBack(answer, version, current) {
        from = current;
        to = answer.version;
        await refresh();
        replace(
          message,
          h(
            "p",
            { className: "notice notice-ok", role: "status", tabindex: "-1" },
            `Rolled back: version ${answer.version} is serving, with version ${version}'s resources.`,
          ),
        );
        /** @type {HTMLElement} */ (message.firstElementChild).focus();
      },
    });
    const rows = h("tbody");
    const comparison = h("section", {
      className: "comparison",
      "aria-labelledby": "compare-title",
    });
    let list;
    let from;
    let to;
    let comparing = new AbortController();

    replace(
      view,
      h("h1", {}, "Versions"),
      intro,
      message,
      rollback.element,
      h(
        "div",
        { className: "table-wrap" },
        h(
          "table",
          { className: "versions-table" },
          h("caption", { className: "visually-hidden" }, "Config versions, newest first"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Version", "Applied", "Actor", "Source", "From", "To"].map((name) =>
                h("th", { scope: "col" }, name),
              ),
              readOnly ? null : h("th", { scope: "col", "data-edit": true }, "Action"),
            ),
          ),
          rows,
        ),
      ),
      comparison,
    );

    async function refresh() {
      list = (await api("/config/versions", { signal })).body;
      const kept = list.versions.map((entry) => entry.version);
      const pick = (value, fallback) => (kept.includes(value) ? value : fallback);
      to = pick(to ?? Number(ctx.query.get("to")), list.current);
      from = pick(from ?? Number(ctx.query.get("from")), kept[1] ?? list.current);
      replace(
        intro,
        `Version ${list.current} is serving; ${kept.length} ${kept.length === 1 ? "version is" : "versions are"} kept. `,
        "Pick two to compare (From, To). ",
        readOnly
          ? ""
          : "Rolling back serves an earlier version's resources again, as a new version.",
      );
      if (list.lastRefusal)
        replace(
          message,
          h(
            "div",
            { className: "alert", role: "alert" },
            h("strong", {}, `The config file was refused (${formatTime(list.lastRefusal.at)}):`),
            h(
              "ul",
              {},
              list.lastRefusal.problems.map((problem) => h("li", {}, problem)),
            ),
          ),
        );
      replace(rows, list.versions.map(rowOf));
      await compare();
    }

    function rowOf(entry) {
      const { version } = entry;
      const radio = (name, checked, label) =>
        h("input", {
          type: "radio",
          name,
          value: version,
          checked,
          "aria-label": `${label} version ${version}`,
          onchange: () => {
            if (name === "from") from = version;
            else to = version;
            compare().catch(showError);
          },
        });
      return h(
        "tr",
        { "data-version": version },
        h("td", {}, String(version), " ", version === list.current ? badge("ok", "current") : null),
        h("td", {}, formatTime(entry.appliedAt)),
        h("td", {}, entry.actor),
        h(
          "td",
          {},
          entry.source,
          entry.rolledBackTo === undefined ? "" : ` (to ${entry.rolledBackTo})`,
        ),
        h("td", {}, radio("from", version === from, "Compare from")),
        h("td", {}, radio("to", version === to, "Compare to")),
        readOnly
          ? null
          : h(
              "td",
              { "data-edit": true },
              version === list.current
                ? h("span", { className: "muted" }, "serving")
                : h(
                    "button",
                    {
                      type: "button",
                      "data-edit": true,
                      onclick: () => {
                        replace(message);
                        rollback.offer(version, list.current).catch(showError);
                      },
                    },
                    `Roll back to ${version}…`,
                  ),
            ),
      );
    }

    async function compare() {
      comparing.abort();
      comparing = new AbortController();
      const only = AbortSignal.any([signal, comparing.signal]);
      const [diff, before, after] = await Promise.all([
        api(`/config/versions/${to}/diff?against=${from}`, { signal: only }).then(
          (answer) => answer.body,
        ),
        yamlOf(from),
        yamlOf(to),
      ]);
      if (only.aborted) return;
      replace(
        comparison,
        h("h2", { id: "compare-title" }, `Version ${from} → version ${to}`),
        changeList(diff),
        sideBySide(before, after, { beforeLabel: `Version ${from}`, afterLabel: `Version ${to}` }),
      );
    }

    function showError(error) {
      if (signal.aborted || error.name === "AbortError") return;
      const stale = error.status === 409 || error.status === 412;
      replace(
        message,
        stale
          ? h(
              "div",
              { className: "alert", role: "alert" },
              "Not rolled back: another change was made meanwhile. The list is reloaded; look again.",
            )
          : errorAlert(error),
      );
      if (stale) {
        rollback.close();
        refresh().catch(showError);
      }
    }

    await refresh();
  },
};
