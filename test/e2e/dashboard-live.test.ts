/**
 * The dashboard's live pages in Chromium, against a real gateway and real upstreams: the
 * overview's figures and tables move when traffic goes through the proxy, a target whose
 * server is closed turns red on the upstreams page, registry instances are listed with
 * their metadata and lease; and the pages work by keyboard, at phone width and in dark.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type AdminGateway,
  removeDir,
  startAdminGateway,
  startFromFile,
} from "../helpers/admin.ts";
import { freePort } from "../helpers/child-process.ts";
import { closeBrowser, type DashboardPage, openDashboard } from "../helpers/dashboard.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const key = "ops-key-0123456789abcdef";
/** Active checks every 200 ms, two failures in a row make a target unhealthy. */
const healthIntervalMs = 200;
const unhealthyThreshold = 2;
/** The upstreams page asks again every second. */
const pollMs = 1_000;

const config = (users: Upstream, spare: Upstream) => `
gateway:
  listen: [{ host: 127.0.0.1, port: 0 }]
  admin:
    host: 127.0.0.1
    port: 0
    keys: [{ id: ops, key: "${key}" }]
  registry: { defaultTtl: 30s }
  log: { level: warn }
services:
  - name: users
    targets: [{ url: "${users.url}" }, { url: "${spare.url}" }]
    healthCheck:
      active:
        path: /health
        interval: ${healthIntervalMs}ms
        timeout: 150ms
        unhealthyThreshold: ${unhealthyThreshold}
        healthyThreshold: 1
  - name: orders
    discovery: { registry: { service: orders } }
routes:
  - name: users-api
    match: { paths: ["/api/users", "/api/users/*"] }
    service: users
    stripPrefix: /api
  - name: limited
    match: { paths: ["/limited"] }
    service: users
    plugins:
      - name: rate-limit
        config: { limit: 2, window: 1m }
`;

/**
 * What went wrong on the page, less the one 401 every login starts with (the page asks
 * GET /caller before it has a key, and Chromium logs the refused request).
 */
function problemsAfterLogin(dashboard: DashboardPage): string[] {
  const problems = [...dashboard.problems];
  const login = problems.findIndex((problem) => /status of 401/.test(problem));
  if (login === 0) problems.splice(login, 1);
  return problems;
}

describe("the dashboard's overview and upstreams pages", () => {
  let users: Upstream;
  let spare: Upstream;
  let gateway: AdminGateway;
  let origin: string;

  before(async () => {
    users = await startUpstream();
    spare = await startUpstream();
    gateway = await startAdminGateway(config(users, spare));
    origin = `http://127.0.0.1:${gateway.gateway.addresses().admin!.port}`;
  });
  after(async () => {
    await closeBrowser();
    await gateway?.stop();
    await users?.close();
    await spare?.close();
    if (gateway) await removeDir(gateway.dir);
  });

  /** The text of a cell of `table`'s row `row`, column `column` (0-based). */
  const cell = (dashboard: DashboardPage, table: string, row: string, column: number) =>
    dashboard.page
      .getByRole("table", { name: table })
      .locator(`tr[data-key="${row}"] td`)
      .nth(column);

  /** Waits until `locator`'s text is `text` (the page updates it on its own clock). */
  const waitForText = async (
    locator: ReturnType<typeof cell>,
    text: string | RegExp,
    timeout = 8_000,
  ) => {
    const deadline = Date.now() + timeout;
    let seen = "";
    while (Date.now() < deadline) {
      seen = ((await locator.count()) > 0 ? await locator.textContent() : "") ?? "";
      if (typeof text === "string" ? seen === text : text.test(seen)) return seen;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail(`expected ${text}, the page shows "${seen}"`);
  };

  it("moves the overview's figures and tables when traffic goes through the proxy", async () => {
    const dashboard = await openDashboard({ origin, key, hash: "#/overview" });
    const { page } = dashboard;
    const rps = page.locator('[data-figure="rps"]');
    const limited = page.locator('[data-figure="limited"]');
    await page.getByText("live", { exact: true }).waitFor();
    assert.equal(await rps.textContent(), "0");
    assert.equal(await limited.textContent(), "0");
    assert.equal(await page.locator(".config-line .figure-inline").first().textContent(), "1");
    await page.getByText("No route has answered a request in the last 15 minutes.").waitFor();
    assert.equal(
      await cell(dashboard, "Upstream availability", "users", 1).textContent(),
      "2 of 2 available",
    );

    for (let i = 0; i < 12; i++) assert.equal((await gateway.proxy("/api/users")).status, 200);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await gateway.proxy("/limited")).status);
    assert.deepEqual(statuses, [200, 200, 429, 429]);

    await waitForText(cell(dashboard, "Traffic by route", "users-api", 1), "12");
    await waitForText(cell(dashboard, "Traffic by route", "limited", 7), "2");
    await waitForText(cell(dashboard, "Traffic by service", "users", 1), "16");
    await waitForText(limited, "2");
    assert.equal(await rps.textContent(), "0.3", "16 requests in the last minute");
    assert.equal(await page.locator('[data-figure="errors"]').textContent(), "0 %");
    assert.match((await page.locator('[data-figure="p50"]').textContent()) ?? "", /^[\d.]+ ms$/);
    // The next tick changes the figures in place: the same row, nothing moved.
    const box = async (selector: string) => page.locator(selector).first().boundingBox();
    const before = { cards: await box(".cards"), table: await box(".live-table") };
    await page.evaluate(`document.querySelector('tr[data-key="users-api"]').dataset.seen = "1"`);
    for (let i = 0; i < 3; i++) await gateway.proxy("/api/users");
    await waitForText(cell(dashboard, "Traffic by route", "users-api", 1), "15");
    assert.equal(await page.locator('tr[data-key="users-api"][data-seen="1"]').count(), 1);
    assert.deepEqual({ cards: await box(".cards"), table: await box(".live-table") }, before);
    // The sparkline drew the requests.
    assert.notEqual(await page.locator(".sparkline-line").first().getAttribute("d"), "");

    // The route table's search filters as one types.
    await page.getByLabel("Search routes").fill("lim");
    assert.equal(await page.locator('tr[data-key="users-api"]').first().isHidden(), true);
    assert.equal(await page.locator('tr[data-key="limited"]').isVisible(), true);
    await page.getByLabel("Search routes").fill("");
    await page.getByLabel("Search routes").blur();
    await dashboard.screenshot("overview");

    // A service's name leads to its targets.
    await page
      .getByRole("table", { name: "Upstream availability" })
      .getByRole("link", { name: "users" })
      .click();
    await page.getByRole("heading", { name: "Upstreams: users" }).waitFor();
    const shown = page.locator(".upstream-groups").first().locator("section");
    await until(async () => (await shown.count()) === 1, "the users service alone");
    assert.equal(await shown.getAttribute("data-name"), "users");
    assert.deepEqual(problemsAfterLogin(dashboard), []);
    await dashboard.close();
  });

  it("lists registry instances and turns a target red once its server is gone", async () => {
    const registered = await gateway.admin(
      "PUT",
      "/registry/services/orders/instances/orders-1",
      {
        address: "127.0.0.1",
        port: users.port,
        version: "1.4.2",
        zone: "eu-1",
        tags: ["stable"],
        metadata: { build: "4121" },
      },
      { authorization: `Bearer ${key}` },
    );
    assert.equal(registered.status, 201, registered.text);
    const dashboard = await openDashboard({ origin, key, hash: "#/upstreams" });
    const { page } = dashboard;
    const instances = "orders instances";
    await waitForText(cell(dashboard, instances, "orders-1", 2), "up");
    assert.equal(await cell(dashboard, instances, "orders-1", 1).textContent(), users.url);
    assert.equal(await cell(dashboard, instances, "orders-1", 3).textContent(), "1.4.2");
    assert.equal(await cell(dashboard, instances, "orders-1", 6).textContent(), "build=4121");
    assert.match(
      (await cell(dashboard, instances, "orders-1", 7).textContent()) ?? "",
      /\d (ms|s)$/,
    );
    // The registered instance is a target of the orders service.
    const ordersTargets = page.locator('section[data-name="orders"]').first();
    await ordersTargets.getByText("1 of 1 available").waitFor();

    const spareHealth = cell(dashboard, "users targets", spare.url, 1);
    assert.equal(await spareHealth.textContent(), "healthy");
    await spare.close();
    const closedAt = Date.now();
    // Red once the gateway has seen the failures and the page has asked again (a second of
    // slack for a loaded machine).
    const expected = healthIntervalMs * (unhealthyThreshold + 1) + pollMs + 1_000;
    await waitForText(spareHealth, "unhealthy", expected);
    const waited = Date.now() - closedAt;
    assert.equal(await spareHealth.locator(".badge").getAttribute("data-state"), "bad");
    assert.equal(await cell(dashboard, "users targets", users.url, 1).textContent(), "healthy");
    await page.locator('section[data-name="users"]').getByText("1 of 2 available").waitFor();
    assert.ok(waited < expected, `${waited} ms`);
    // The search box filters services, targets and instances as one types.
    const search = page.getByLabel("Search services, targets and instances");
    await search.fill("orders-1");
    assert.equal(await page.locator('section[data-name="users"]').isHidden(), true);
    assert.equal(await cell(dashboard, instances, "orders-1", 0).isVisible(), true);
    await search.fill(String(spare.port));
    assert.equal(await page.locator('section[data-name="users"]').isVisible(), true);
    assert.equal(await cell(dashboard, "users targets", users.url, 0).isHidden(), true);
    assert.equal(await cell(dashboard, "users targets", spare.url, 0).isVisible(), true);
    await search.fill("");
    await search.blur();
    await dashboard.screenshot("upstreams");
    assert.deepEqual(problemsAfterLogin(dashboard), []);
    await dashboard.close();
  });

  it("reaches the navigation and the search box by keyboard", async () => {
    const dashboard = await openDashboard({ origin, key, hash: "#/overview" });
    const { page } = dashboard;
    await page.getByLabel("Search routes").waitFor();
    const reached = new Set<string>();
    for (let i = 0; i < 40 && reached.size < 2; i++) {
      await page.keyboard.press("Tab");
      // Run in the page (a string: this file is not compiled with the DOM's types).
      const where = await page.evaluate<string>(
        `document.activeElement?.closest("#nav") ? "nav" : (document.activeElement?.id ?? "")`,
      );
      if (where === "nav" || where === "search-traffic-by-route") reached.add(where);
    }
    assert.deepEqual([...reached].sort(), ["nav", "search-traffic-by-route"]);
    // Typing into the focused box filters.
    await page.keyboard.type("users");
    assert.equal(await page.locator('tr[data-key="limited"]').isHidden(), true);
    assert.deepEqual(problemsAfterLogin(dashboard), []);
    await dashboard.close();
  });

  it("fits a phone's width without sideways scrolling of the page", async () => {
    for (const hash of ["#/upstreams", "#/overview"]) {
      const dashboard = await openDashboard({
        origin,
        key,
        hash,
        viewport: { width: 390, height: 844 },
      });
      const { page } = dashboard;
      await page
        .locator(hash === "#/overview" ? ".sparkline" : ".upstream-group")
        .first()
        .waitFor();
      await page.locator("table").first().waitFor();
      const { scrollWidth, innerWidth } = await page.evaluate<{
        scrollWidth: number;
        innerWidth: number;
      }>("({ scrollWidth: document.body.scrollWidth, innerWidth: window.innerWidth })");
      assert.ok(scrollWidth <= innerWidth, `${hash}: body ${scrollWidth} px wide in ${innerWidth}`);
      if (hash === "#/overview") await dashboard.screenshot("overview-phone");
      assert.deepEqual(problemsAfterLogin(dashboard), []);
      await dashboard.close();
    }
  });

  it("switches to the dark theme", async () => {
    const dashboard = await openDashboard({ origin, key, hash: "#/overview" });
    const { page } = dashboard;
    await page.getByText("live", { exact: true }).waitFor();
    const background = () =>
      page.evaluate<string>("getComputedStyle(document.body).backgroundColor");
    const light = await background();
    await page.getByRole("button", { name: "Theme" }).click();
    assert.equal(await page.evaluate<string>("document.documentElement.dataset.theme"), "dark");
    const dark = await background();
    assert.notEqual(dark, light);
    assert.equal(dark, "rgb(15, 18, 23)");
    await dashboard.screenshot("overview-dark");
    assert.deepEqual(problemsAfterLogin(dashboard), []);
    await dashboard.close();
  });
});

describe("the overview when the gateway goes away", () => {
  it("says it is reconnecting, then is live again when the gateway is back", async () => {
    const port = await freePort();
    const text = `
gateway:
  listen: [{ host: 127.0.0.1, port: 0 }]
  admin: { host: 127.0.0.1, port: ${port}, keys: [{ id: ops, key: "${key}" }] }
  log: { level: warn }
`;
    let gateway = await startAdminGateway(text);
    try {
      const dashboard = await openDashboard({ origin: `http://127.0.0.1:${port}`, key });
      const { page } = dashboard;
      const status = page.locator(".live-status");
      await status.getByText("live", { exact: true }).waitFor();
      await gateway.stop();
      await status.getByText("reconnecting", { exact: true }).waitFor();
      await page.getByText("The gateway does not answer: trying again every 2 seconds.").waitFor();
      gateway = await startFromFile(gateway.file, gateway.dir);
      await status.getByText("live", { exact: true }).waitFor();
      await page.getByRole("alert").waitFor({ state: "detached" });
      // Only the refused connections while the gateway was away.
      const others = problemsAfterLogin(dashboard).filter(
        (problem) => !/ERR_CONNECTION_REFUSED/.test(problem),
      );
      assert.deepEqual(others, []);
      await dashboard.close();
    } finally {
      await closeBrowser();
      await gateway.stop();
      await removeDir(gateway.dir);
    }
  });
});
