// @module admin/ui/resource-review
// A change to a route, service, consumer or global plugin is seen before it is made: the whole
// config with the change goes through the dry run (POST /config/validate); its problems are
// shown, or its diff and the version it creates. Only on confirmation is the resource call
// made, If-Match the version that was checked, so a change made meanwhile is not overwritten.
import { api } from "./api.js";
import { changeList } from "./diff-view.js";
import { errorAlert, h, replace } from "./dom.js";

let notice = "";

/** Keeps a line to show on the next page (what a saved change did). */
export function setNotice(text) {
  notice = text;
}

/** The line kept for this page, as a status (or null), forgotten once shown. */
export function takeNotice() {
  const text = notice;
  notice = "";
  return text ? h("p", { className: "notice notice-ok", role: "status" }, text) : null;
}

/** Moves focus to the panel's heading, with as much of the panel in view as fits. */
function show(heading) {
  heading.focus({ preventScroll: true });
  heading.parentElement?.scrollIntoView({ block: "nearest" });
}

/** The problems of the changed resource (the one at `section[index]`), their paths relative to it. */
function problemsOf(problems, section, index) {
  if (index < 0) return [];
  const own = `${section}[${index}]`;
  return problems
    .filter((problem) => problem.path.startsWith(own))
    .map((problem) => ({ ...problem, path: problem.path.slice(own.length).replace(/^\./, "") }));
}

/**
 * The dry run of the serving config with `change` made to its `section`: the answer of
 * POST /config/validate with the version it was checked against, and the problems of the
 * resource named `name`, their paths relative to it.
 */
export async function dryRun(section, name, change, signal) {
  const current = await api("/config", { signal });
  const items = change([...(current.body[section] ?? [])]);
  const next = { ...current.body, [section]: items };
  const result = (await api("/config/validate", { method: "POST", body: next, signal })).body;
  const index = items.findIndex((item) => item?.name === name);
  return {
    ...result,
    version: result.diff?.from ?? current.version,
    own: problemsOf(result.problems, section, index),
    index,
  };
}

/**
 * Checks a change and, once confirmed, makes it.
 * @param {{ panel: HTMLElement, section: string, name: string, signal: AbortSignal,
 *   change(items: object[]): object[], confirmLabel: string,
 *   onProblems(problems: { path: string, message: string }[]): void,
 *   commit(version: number): Promise<{ version?: number }>, done(version?: number): void }} plan
 */
export async function review(plan) {
  const { panel, signal } = plan;
  replace(panel, h("p", { className: "muted" }, "Checking the change…"));
  let result;
  try {
    result = await dryRun(plan.section, plan.name, plan.change, signal);
  } catch (error) {
    if (!signal.aborted) replace(panel, errorAlert(error));
    return;
  }
  const { own, index } = result;
  plan.onProblems(own);
  const heading = h("h2", { tabindex: "-1" });
  if (!result.valid) {
    heading.textContent = "The change has problems; nothing was saved";
    const list = result.problems.map((problem) =>
      h("li", {}, problem.path ? `${problem.path}: ${problem.message}` : problem.message),
    );
    replace(panel, heading, h("ul", { className: "problems", role: "alert" }, list));
    if (own.length === 0) show(heading);
    return;
  }
  heading.textContent = "Review the change";
  const changes = result.diff?.resources?.length ?? 0;
  const confirm = h(
    "button",
    { type: "button", className: "primary", "data-edit": "" },
    plan.confirmLabel,
  );
  const cancel = h("button", { type: "button", onclick: () => replace(panel) }, "Cancel");
  replace(
    panel,
    heading,
    changeList(result.diff),
    changes > 0
      ? h("p", { className: "next-version" }, `This creates version ${result.version + 1}.`)
      : h("p", { className: "muted" }, "Nothing changes: no version is created."),
    h("div", { className: "actions" }, changes > 0 ? confirm : null, cancel),
  );
  show(heading);
  confirm.addEventListener("click", async () => {
    confirm.disabled = true;
    try {
      const answer = await plan.commit(result.version);
      plan.done(answer.version);
    } catch (error) {
      confirm.disabled = false;
      if (signal.aborted) return;
      if (error.status === 412 || (error.status === 409 && /version/.test(error.message))) {
        conflict(plan, result.version, error);
      } else {
        panel.append(errorAlert(error));
        // A refusal names its problems by their place in the config, as the dry run does.
        const named = (error.problems ?? []).map((text) => {
          const at = String(text).indexOf(": ");
          return at < 0
            ? { path: "", message: text }
            : { path: text.slice(0, at), message: text.slice(at + 2) };
        });
        plan.onProblems(problemsOf(named, plan.section, index));
      }
    }
  });
}

/** Someone else changed the config after the check: nothing was saved; check again on the new one. */
function conflict(plan, version, error) {
  const heading = h("h2", { tabindex: "-1" }, "Someone else changed the config");
  replace(
    plan.panel,
    heading,
    h(
      "div",
      { className: "alert", role: "alert" },
      `Your change was checked against version ${version}, but the config changed since then (${error.message}). Nothing was saved.`,
    ),
    h("p", {}, "Reload to check your change again against the config serving now."),
    h(
      "button",
      { type: "button", className: "primary", onclick: () => review(plan) },
      "Reload and check again",
    ),
  );
  show(heading);
}
