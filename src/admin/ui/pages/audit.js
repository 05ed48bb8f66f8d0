// @module admin/ui/pages/audit
// The audit trail: every config change attempt, newest first — who, from where, how it
// ended — filtered by actor, source, outcome and time as the filters change (GET /audit),
// each entry's details (request, versions, resources, problems) shown on demand.
import { api } from "../api.js";
import { badge, errorAlert, formatTime, h, replace } from "../dom.js";

const outcomeBadges = { accepted: "ok", rejected: "bad", unchanged: "off" };
const step = 100;
const maxLimit = 1000;
let detailIds = 0;

export default {
  id: "audit",
  title: "Audit",
  async render(view, ctx) {
    const { signal } = ctx;
    const choice = (name, label, values) =>
      h(
        "div",
        {},
        h("label", { for: `audit-${name}` }, label),
        h(
          "select",
          { id: `audit-${name}`, name },
          h("option", { value: "" }, "any"),
          values.map((value) => h("option", { value }, value)),
        ),
      );
    const field = (name, label, attributes) =>
      h(
        "div",
        {},
        h("label", { for: `audit-${name}` }, label),
        h("input", { id: `audit-${name}`, name, ...attributes }),
      );
    const actors = h("datalist", { id: "audit-actors" });
    const form = h(
      "form",
      { className: "filters", role: "search", "aria-label": "Filter the audit trail" },
      field("actor", "Actor", {
        type: "search",
        list: "audit-actors",
        autocomplete: "off",
        placeholder: "any",
      }),
      choice("source", "Source", ["admin", "file", "start", "etcd"]),
      choice("outcome", "Outcome", ["accepted", "rejected", "unchanged"]),
      field("since", "Since", { type: "datetime-local" }),
      field("until", "Until", { type: "datetime-local" }),
      actors,
    );
    const summary = h("p", { className: "muted", role: "status" });
    const message = h("div", {});
    const rows = h("tbody");
    const more = h(
      "button",
      { type: "button", hidden: true, onclick: () => load(limit + step) },
      "Show older entries",
    );
    replace(
      view,
      h("h1", {}, "Audit"),
      form,
      message,
      summary,
      h(
        "div",
        { className: "table-wrap" },
        h(
          "table",
          { className: "audit-table" },
          h("caption", { className: "visually-hidden" }, "Config change attempts, newest first"),
          h(
            "thead",
            {},
            h(
              "tr",
              {},
              ["Time", "Action", "Actor", "Source", "Outcome", "Version", "Details"].map((name) =>
                h("th", { scope: "col" }, name),
              ),
            ),
          ),
          rows,
        ),
      ),
      more,
    );

    let limit = step;
    let timer;
    let loading = new AbortController();
    const seenActors = new Set();

    /** The query the filters make: local times as ISO instants, `until` to the end of its minute. */
    function query(count) {
      const data = new FormData(form);
      const params = new URLSearchParams({ limit: String(count) });
      for (const name of ["actor", "source", "outcome"]) {
        const value = String(data.get(name) ?? "").trim();
        if (value) params.set(name, value);
      }
      const since = String(data.get("since") ?? "");
      const until = String(data.get("until") ?? "");
      if (since) params.set("since", new Date(since).toISOString());
      if (until) params.set("until", new Date(new Date(until).getTime() + 59_999).toISOString());
      return params;
    }

    async function load(count = step) {
      loading.abort();
      loading = new AbortController();
      const only = AbortSignal.any([signal, loading.signal]);
      limit = Math.min(count, maxLimit);
      let answer;
      try {
        answer = (await api(`/audit?${query(limit)}`, { signal: only })).body;
      } catch (error) {
        if (!only.aborted) replace(message, errorAlert(error));
        return;
      }
      replace(message);
      for (const entry of answer.entries) seenActors.add(entry.actor);
      replace(
        actors,
        [...seenActors].sort().map((actor) => h("option", { value: actor })),
      );
      replace(rows, answer.entries.flatMap(rowsOf));
      summary.textContent =
        answer.matched === 0
          ? "No entries match."
          : `Showing the newest ${answer.entries.length} of ${answer.matched} matching ${answer.matched === 1 ? "entry" : "entries"} (kept in ${answer.kept}).`;
      more.hidden = answer.entries.length >= answer.matched || limit >= maxLimit;
    }

    // Typing waits for a pause; a choice applies at once.
    form.addEventListener("input", (event) => {
      clearTimeout(timer);
      const typed = /** @type {HTMLElement} */ (event.target).id === "audit-actor";
      timer = setTimeout(() => load(), typed ? 300 : 0);
    });
    form.addEventListener("submit", (event) => event.preventDefault());
    signal.addEventListener("abort", () => clearTimeout(timer));
    await load();
  },
};

/** An entry's row and its details row (hidden until its button opens it). */
function rowsOf(entry) {
  const id = `audit-detail-${++detailIds}`;
  const detail = h(
    "tr",
    { id, className: "audit-detail", hidden: true },
    h("td", { colspan: 7 }, details(entry)),
  );
  const toggle = h(
    "button",
    {
      type: "button",
      "aria-expanded": "false",
      "aria-controls": id,
      onclick: () => {
        const open = detail.hidden;
        detail.hidden = !open;
        toggle.setAttribute("aria-expanded", String(open));
        toggle.textContent = open ? "Hide" : "Show";
      },
    },
    "Show",
  );
  const row = h(
    "tr",
    { "data-outcome": entry.result },
    h("td", {}, h("time", { datetime: entry.time }, formatTime(entry.time))),
    h("td", {}, h("code", {}, entry.action)),
    h("td", {}, entry.actor),
    h("td", {}, entry.source),
    h("td", {}, badge(outcomeBadges[entry.result] ?? "off", entry.result)),
    h("td", {}, entry.version === undefined ? "–" : String(entry.version)),
    h("td", {}, toggle),
  );
  return [row, detail];
}

function details(entry) {
  const facts = [
    ["Request", entry.requestId],
    ["From address", entry.remoteAddress],
    ["HTTP status", entry.status],
    [
      "Versions",
      entry.previousVersion === undefined
        ? undefined
        : `${entry.previousVersion} → ${entry.version}`,
    ],
    ["Hash", entry.hash],
  ].filter(([, value]) => value !== undefined);
  return h(
    "div",
    { className: "audit-facts" },
    h(
      "dl",
      {},
      facts.flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, String(value))]),
    ),
    entry.resources?.length > 0
      ? h(
          "div",
          {},
          h("strong", {}, "Resources"),
          h(
            "ul",
            {},
            entry.resources.map((resource) =>
              h("li", {}, `${resource.change} ${resource.kind} ${resource.name}`),
            ),
          ),
        )
      : null,
    entry.problems?.length > 0
      ? h(
          "div",
          {},
          h("strong", {}, "Problems"),
          h(
            "ul",
            { className: "problems" },
            entry.problems.map((problem) => h("li", {}, problem)),
          ),
        )
      : null,
  );
}
