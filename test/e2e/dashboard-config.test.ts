/**
 * The dashboard's config editor, versions and audit pages in Chromium, against a real
 * gateway started from a real file with a real upstream: problems shown at the line typed,
 * a fix reviewed and saved and then served, a stale save refused, a rollback shown first
 * and then applied (the route it removes gone from the proxy), the audit trail filtered,
 * a read-only key without edit controls, and the whole save done from the keyboard.
 */
// biome-ignore-all lint/performance/useDomNodeTextContent: Playwright's innerText is the text a user sees
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type AdminGateway, removeDir, startAdminGateway } from "../helpers/admin.ts";
import {
  closeBrowser,
  type DashboardPage,
  dashboardGatewayYaml,
  dashboardKeys,
  openDashboard,
} from "../helpers/dashboard.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const { ops, viewer } = dashboardKeys;
const deploy = "deploy-key-0123456789abcdef";
const asOps = { authorization: `Bearer ${ops}` };

const config = (upstream: string) => `
${dashboardGatewayYaml([`{ id: deploy, key: "${deploy}" }`])}services:
  - name: app
    targets: [{ url: "${upstream}" }]
routes:
  - name: users-api
    match: { paths: ["/api/users"] }
    service: app
`;

/** What the page reported that a user would notice, less the 401 of the first, keyless call. */
const unexpected = (dashboard: DashboardPage, allowed: RegExp[] = []) =>
  dashboard.problems.filter(
    (problem) => !/status of 401/.test(problem) && !allowed.some((ok) => ok.test(problem)),
  );

describe("the dashboard's config editor, versions and audit", () => {
  let upstream: Upstream;
  let gateway: AdminGateway;
  let origin: string;

  before(async () => {
    upstream = await startUpstream((req, res) => res.end(`upstream saw ${req.url}`));
    gateway = await startAdminGateway(config(upstream.url));
    origin = `http://127.0.0.1:${gateway.gateway.addresses().admin!.port}`;
  });
  after(async () => {
    await closeBrowser();
    await gateway?.stop();
    await upstream?.close();
    if (gateway) await removeDir(gateway.dir);
  });

  it("serves the diff and YAML libraries the pages import, from node_modules", async () => {
    for (const path of ["diff/diff/line.js", "diff/diff/base.js", "yaml/index.js"]) {
      const answer = await fetch(`${origin}/ui/vendor/${path}`);
      assert.equal(answer.status, 200, path);
      assert.match(answer.headers.get("content-type") ?? "", /^text\/javascript/);
      assert.match(await answer.text(), /^export /m);
    }
    assert.notEqual((await fetch(`${origin}/ui/vendor/diff/index.d.ts`)).status, 200);
  });

  it("shows each problem at the line typed, and saves the fix, which is served", async () => {
    const dashboard = await openDashboard({ origin, key: ops, hash: "#/config" });
    const { page } = dashboard;
    const editor = page.getByLabel("The whole config, as YAML");
    await until(async () => (await editor.inputValue()).includes("users-api"), "the config");
    assert.match(await page.getByText(/Serving version \d+/).innerText(), /Serving version 1\./);

    await editor.focus();
    await page.keyboard.press("Control+End");
    await page.keyboard.type(
      "  - name: orders-api\n    match:\n      paths:\n        - /api/orders\n    service: orders",
    );
    const lines = (await editor.inputValue()).split("\n");
    const serviceLine = lines.indexOf("    service: orders") + 1;
    const problem = page.locator(".problem-link").first();
    await until(
      async () => (await page.locator(".problem-link").count()) === 1,
      "the missing service's problem",
    );
    assert.equal(
      await problem.innerText(),
      `line ${serviceLine}, column 14: unknown service "orders" (routes[1].service)`,
    );
    const marked = page.locator(".gutter .has-problem");
    assert.deepEqual(await marked.allInnerTexts(), [String(serviceLine)]);
    await dashboard.screenshot("config-editor");

    // The problem takes the caret to its place; the fix is typed there.
    await problem.click();
    const caretLine = await editor.evaluate((element) => {
      const area = element as unknown as { value: string; selectionStart: number };
      return area.value.slice(0, area.selectionStart).split("\n").length;
    });
    assert.equal(caretLine, serviceLine);
    await page.keyboard.press("Shift+End");
    await page.keyboard.type("app");
    await page.getByText("Valid: changes 1 resource.").waitFor();
    assert.equal(await page.locator(".problem-link").count(), 0);

    // A line that is not YAML: the syntax error is shown at that line.
    await page.keyboard.press("End");
    await page.keyboard.type("\n   oops: 1");
    const oopsLine = (await editor.inputValue()).split("\n").indexOf("   oops: 1") + 1;
    await until(async () => (await page.locator(".problem-link").count()) === 1, "syntax error");
    assert.match(
      await problem.innerText(),
      new RegExp(`^line ${oopsLine}, column \\d+: YAML syntax`),
    );
    assert.deepEqual(await marked.allInnerTexts(), [String(oopsLine)]);
    await page.keyboard.press("Shift+Home");
    await page.keyboard.press("Backspace");
    await page.keyboard.press("Backspace");
    await page.getByText("Valid: changes 1 resource.").waitFor();

    await page.getByRole("button", { name: "Review and save" }).click();
    const review = page.locator("section.review");
    await review.getByRole("heading", { name: "Review: saving creates version 2" }).waitFor();
    assert.match(await review.locator("ul.changes").innerText(), /created\s+route orders-api/);
    const added = review.locator('tr[data-row="change"] td.text.added');
    assert.ok((await added.allInnerTexts()).includes("  - name: orders-api"));
    assert.equal(await review.locator("td.sign.added").first().innerText(), "+\nadded");
    await review.getByRole("button", { name: "Save as version 2" }).click();
    await page.getByText("Saved: version 2 is serving.").waitFor();
    await page.getByText("Serving version 2.").waitFor();
    assert.deepEqual(await gateway.proxy("/api/orders"), {
      status: 200,
      body: "upstream saw /api/orders",
    });
    assert.deepEqual(unexpected(dashboard), []);
    await dashboard.close();
  });

  it("refuses to save over a version made meanwhile, and reloads", async () => {
    const dashboard = await openDashboard({ origin, key: ops, hash: "#/config" });
    const { page } = dashboard;
    const editor = page.getByLabel("The whole config, as YAML");
    await until(async () => (await editor.inputValue()).includes("orders-api"), "the config");
    const text = (await editor.inputValue()).replace("- /api/users", "- /api/people");
    await editor.fill(text);
    await page.getByText("Valid: changes 1 resource.").waitFor();
    // Reload asks again before it drops an edit.
    await page.getByRole("button", { name: "Reload", exact: true }).click();
    await page.getByRole("button", { name: "Discard your edit and reload" }).waitFor();
    assert.match(await editor.inputValue(), /- \/api\/people/);
    // Someone else changes the config in the meantime.
    const patched = await gateway.admin(
      "PATCH",
      "/routes/users-api",
      { stripPrefix: "/api" },
      asOps,
    );
    assert.equal(patched.status, 200);
    await page.keyboard.press("Control+s");
    await page.getByRole("button", { name: "Save as version 3" }).click();
    const alert = page.getByRole("alert").filter({ hasText: "Not saved" });
    await alert.getByText("the config changed since you loaded it").waitFor();
    await alert.getByRole("button", { name: "Reload the serving config" }).click();
    await page.getByText("Serving version 3.").waitFor();
    assert.match(await editor.inputValue(), /stripPrefix: \/api/);
    assert.deepEqual(unexpected(dashboard, [/status of 409/]), []);
    await dashboard.close();
  });

  it("compares two versions and rolls back after showing what the rollback does", async () => {
    const dashboard = await openDashboard({ origin, key: ops, hash: "#/versions" });
    const { page } = dashboard;
    const current = page.locator('tr[data-version="3"]');
    await current.getByText("current").waitFor();
    assert.deepEqual(
      await page
        .locator(".versions-table > tbody > tr")
        .evaluateAll((rows) => rows.map((row) => row.dataset.version)),
      ["3", "2", "1"],
    );
    assert.match(await current.innerText(), /ops\s+admin/);

    await page.getByLabel("Compare from version 1").check();
    await page.getByLabel("Compare to version 2").check();
    const comparison = page.locator("section.comparison");
    await comparison.getByRole("heading", { name: "Version 1 → version 2" }).waitFor();
    assert.match(await comparison.locator("ul.changes").innerText(), /created\s+route orders-api/);
    assert.ok(
      (await comparison.locator("td.text.added").allInnerTexts()).includes("  - name: orders-api"),
    );
    await dashboard.screenshot("versions");
    // The unchanged lines folded away come back on request.
    const fold = comparison.getByRole("button", { name: /^Show \d+ unchanged lines$/ });
    const folded = Number((await fold.innerText()).split(" ")[1]);
    const shownRows = await comparison.locator("tbody tr").count();
    await fold.click();
    assert.equal(await comparison.locator("tbody tr").count(), shownRows - 1 + folded);

    await page.getByRole("button", { name: "Roll back to 1…" }).click();
    const panel = page.locator("section.rollback");
    await panel.getByRole("heading", { name: "Roll back to version 1?" }).waitFor();
    assert.match(await panel.locator("ul.changes").innerText(), /deleted\s+route orders-api/);
    assert.ok(
      (await panel.locator("td.text.removed").allInnerTexts()).includes("  - name: orders-api"),
    );
    // Shown, not done: the route still serves until the rollback is confirmed.
    assert.equal((await gateway.proxy("/api/orders")).status, 200);
    await panel.getByRole("button", { name: "Roll back: create version 4" }).click();
    await page
      .getByText("Rolled back: version 4 is serving, with version 1's resources.")
      .waitFor();
    assert.match(
      await page.locator('tr[data-version="4"]').innerText(),
      /4\s+current[\s\S]*rollback \(to 1\)/,
    );
    await until(async () => (await gateway.proxy("/api/orders")).status === 404, "404");
    const routes = await gateway.admin("GET", "/routes", undefined, asOps);
    assert.deepEqual(
      routes.body.data.map((route: { name: string }) => route.name),
      ["users-api"],
    );
    await page.getByRole("link", { name: "Config" }).click();
    const editor = page.getByLabel("The whole config, as YAML");
    await until(async () => (await editor.inputValue()).includes("users-api"), "the config");
    assert.doesNotMatch(await editor.inputValue(), /orders-api/);
    assert.deepEqual(unexpected(dashboard), []);
    await dashboard.close();
  });

  it("lists the audit trail newest first, filtered by actor, source, outcome and time", async () => {
    // Another actor rolls back to the version serving: an attempt that changes nothing.
    const again = await gateway.admin("POST", "/config/rollback/4", undefined, {
      authorization: `Bearer ${deploy}`,
    });
    assert.equal(again.body.result, "unchanged");
    const dashboard = await openDashboard({ origin, key: ops, hash: "#/audit" });
    const { page } = dashboard;
    const rows = page.locator("tbody tr[data-outcome]");
    const texts = () => rows.allInnerTexts();
    await until(async () => (await rows.count()) === 5, "the audit entries");
    const [newest, ...older] = await texts();
    assert.match(newest!, /config\.rollback\s+deploy\s+admin\s+unchanged\s+4/);
    assert.match(older[0]!, /config\.rollback\s+ops\s+admin\s+accepted\s+4/);
    assert.match(older[3]!, /config\.replace\s+ops\s+admin\s+accepted\s+2/);
    await rows.nth(1).getByRole("button", { name: "Show" }).click();
    const detail = page.locator("tr.audit-detail:not([hidden])");
    assert.match(await detail.innerText(), /Versions\s+3 → 4/);
    assert.match(await detail.innerText(), /deleted route orders-api/);
    await dashboard.screenshot("audit");

    const shows = async (what: string, pattern: RegExp, count: number) => {
      await until(async () => {
        const shown = await texts();
        return shown.length === count && shown.every((text) => pattern.test(text));
      }, what);
    };
    await page.getByLabel("Outcome").selectOption("rejected");
    await shows("the rejected save", /config\.replace\s+ops\s+admin\s+rejected\s+3/, 1);
    await page.getByLabel("Outcome").selectOption("");
    await page.getByLabel("Actor").fill("deploy");
    await shows("deploy's entry", /deploy\s+admin\s+unchanged/, 1);
    await page.getByLabel("Actor").fill("ops");
    await shows("ops's entries", /\sops\s/, 4);
    await page.getByLabel("Source").selectOption("file");
    await page.getByText("No entries match.").waitFor();
    await page.getByLabel("Source").selectOption("admin");
    await shows("ops's entries again", /\sops\s/, 4);
    // From ten minutes ahead: none yet.
    const later = new Date(Date.now() + 10 * 60_000);
    const local = new Date(later.getTime() - later.getTimezoneOffset() * 60_000);
    await page.getByLabel("Since").fill(local.toISOString().slice(0, 16));
    await page.getByText("No entries match.").waitFor();
    assert.equal(await rows.count(), 0);
    assert.deepEqual(unexpected(dashboard), []);
    await dashboard.close();
  });

  it("shows a read-only key the config and versions without save or rollback", async () => {
    const dashboard = await openDashboard({ origin, key: viewer, hash: "#/config" });
    const { page } = dashboard;
    // Every call the page makes but a read: a review (its dry run), a save, a rollback.
    const changes: string[] = [];
    page.on("request", (request) => {
      if (request.method() !== "GET") changes.push(`${request.method()} ${request.url()}`);
    });
    const editor = page.getByLabel("The whole config, as YAML");
    await until(async () => (await editor.inputValue()).includes("users-api"), "the config");
    assert.equal(await editor.getAttribute("readonly"), "");
    assert.equal(await page.getByRole("button", { name: "Review and save" }).count(), 0);
    assert.equal(await page.locator("[data-edit]").count(), 0);
    await editor.focus();
    await page.keyboard.press("Control+s");
    await page.getByRole("link", { name: "Versions" }).click();
    // By the time the versions are listed, a review Ctrl+S started would have asked.
    await page.locator('tr[data-version="4"]').getByText("current").waitFor();
    assert.deepEqual(changes, []);
    assert.equal(await page.getByRole("button", { name: /Roll back/ }).count(), 0);
    assert.equal(await page.locator("[data-edit]").count(), 0);
    assert.deepEqual(unexpected(dashboard), []);
    await dashboard.close();
  });

  it("saves from the keyboard alone: Tab indents, Esc then Tab leaves, Ctrl+S, Tab, Enter", async () => {
    const dashboard = await openDashboard({ origin, key: ops, hash: "#/config" });
    const { page } = dashboard;
    const editor = page.getByLabel("The whole config, as YAML");
    await until(async () => (await editor.inputValue()).includes("users-api"), "the config");
    // What has the focus, by its label or its text.
    const focusedLabel = () =>
      page.evaluate<string | null>(
        "document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.textContent",
      );
    for (let i = 0; i < 40 && (await focusedLabel()) !== "The whole config, as YAML"; i++)
      await page.keyboard.press("Tab");
    assert.equal(await focusedLabel(), "The whole config, as YAML");
    await page.keyboard.press("Control+End");
    await page.keyboard.type("\n");
    await page.keyboard.press("Tab");
    await page.keyboard.type("- name: people-api\n");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    await page.keyboard.type('match: { paths: ["/api/people"] }\n    service: app');
    // Shift+Tab takes two spaces off the line, none past its start.
    await page.keyboard.type("\n    x");
    await page.keyboard.press("Shift+Tab");
    assert.match(await editor.inputValue(), /service: app\n {2}x$/);
    await page.keyboard.press("Shift+Tab");
    await page.keyboard.press("Shift+Tab");
    assert.match(await editor.inputValue(), /service: app\nx$/);
    await page.keyboard.press("Backspace");
    await page.keyboard.press("Backspace");
    assert.match(await editor.inputValue(), /\n {2}- name: people-api\n {4}match: /);
    await page.getByText("Valid: changes 1 resource.").waitFor();
    await page.keyboard.press("Control+s");
    await page.getByRole("heading", { name: "Review: saving creates version 5" }).waitFor();
    await page.keyboard.press("Tab");
    assert.equal(await focusedLabel(), "Save as version 5");
    await page.keyboard.press("Enter");
    await page.getByText("Saved: version 5 is serving.").waitFor();
    assert.equal((await gateway.proxy("/api/people")).status, 200);
    // Esc, then Tab: out of the editor, to what comes after it.
    const saved = await editor.inputValue();
    await editor.focus();
    await page.keyboard.press("Escape");
    await page.keyboard.press("Tab");
    assert.notEqual(await focusedLabel(), "The whole config, as YAML");
    assert.equal(await editor.inputValue(), saved);
    assert.deepEqual(unexpected(dashboard), []);
    await dashboard.close();
  });

  it("does not roll back over a version made after the rollback was shown", async () => {
    const dashboard = await openDashboard({ origin, key: ops, hash: "#/versions" });
    const { page } = dashboard;
    await page.locator('tr[data-version="5"]').getByText("current").waitFor();
    await page.getByRole("button", { name: "Roll back to 4…" }).click();
    const panel = page.locator("section.rollback");
    await panel.getByRole("heading", { name: "Roll back to version 4?" }).waitFor();
    // Someone else makes version 6 while the rollback is on screen.
    const patched = await gateway.admin("PATCH", "/routes/users-api", { stripPrefix: "/x" }, asOps);
    assert.equal(patched.status, 200);
    await panel.getByRole("button", { name: "Roll back: create version 6" }).click();
    await page
      .getByRole("alert")
      .getByText(/Not rolled back: another change was made/)
      .waitFor();
    await page.locator('tr[data-version="6"]').getByText("current").waitFor();
    assert.equal(await panel.isHidden(), true);
    // Version 6 serves as it was made: the route added in version 5 is still there.
    assert.equal((await gateway.proxy("/api/people")).status, 200);
    const routes = await gateway.admin("GET", "/routes/users-api", undefined, asOps);
    assert.equal(routes.body.stripPrefix, "/x");
    assert.deepEqual(unexpected(dashboard, [/status of 409/]), []);
    await dashboard.close();
  });
});
