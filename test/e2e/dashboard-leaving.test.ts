/**
 * The dashboard's live pages in Chromium leave nothing running: the upstreams page asks
 * again every second without piling up a listener per wait, stops asking once the user
 * goes to another page, and the overview's stats stream is closed when it is left.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type DashboardGateway,
  keylessGatewayYaml,
  openDashboard,
  startDashboardGateway,
} from "../helpers/dashboard.ts";
import { until } from "../helpers/until.ts";

/** The upstreams page asks again every second. */
const pollMs = 1_000;

/** Counts, in the page, the abort listeners added to signals and not removed. */
const countAbortListeners = `(() => {
  window.abortListeners = 0;
  const { addEventListener, removeEventListener } = AbortSignal.prototype;
  AbortSignal.prototype.addEventListener = function (type, ...rest) {
    if (type === "abort") window.abortListeners++;
    return addEventListener.call(this, type, ...rest);
  };
  AbortSignal.prototype.removeEventListener = function (type, ...rest) {
    if (type === "abort") window.abortListeners--;
    return removeEventListener.call(this, type, ...rest);
  };
})()`;

describe("the dashboard's live pages, when left", () => {
  let gateway: DashboardGateway;
  let origin: string;

  before(async () => {
    gateway = await startDashboardGateway(`${keylessGatewayYaml}services:
  - name: users
    targets: [{ url: http://127.0.0.1:9 }]
`);
    origin = gateway.origin;
  });
  after(() => gateway?.close());

  it("polls the upstreams without piling up listeners, and stops when left", async () => {
    const dashboard = await openDashboard({ origin, hash: "#/routes" });
    const { page } = dashboard;
    await page.addInitScript(countAbortListeners);
    await page.reload();
    const polls: string[] = [];
    page.on("request", (request) => {
      if (new URL(request.url()).pathname === "/runtime") polls.push(request.url());
    });
    await page.goto(`${origin}/ui/#/upstreams`);
    const listeners = () => page.evaluate<number>("window.abortListeners");
    // Each poll is about a second apart: a generous bound for a machine running other tests.
    // One wait's listener at the most, however many polls went before.
    await until(() => polls.length >= 5, "the fifth poll", 15 * pollMs);
    assert.ok((await listeners()) <= 1, `${await listeners()} abort listeners after 5 polls`);

    await page.getByRole("link", { name: "Routes" }).click();
    await page.getByRole("heading", { name: "Routes" }).waitFor();
    const left = polls.length;
    // Nothing to wait for but time: two and a half polls' worth.
    await page.waitForTimeout(2.5 * pollMs);
    assert.equal(polls.length, left, "no poll after the page was left");
    // The 404s are GET /registry/services: this gateway has no registry, which the page says.
    assert.deepEqual(
      dashboard.problems.filter((problem) => !/status of 404/.test(problem)),
      [],
    );
    await dashboard.close();
  });

  it("closes the overview's stats stream when the user goes to another page", async () => {
    const dashboard = await openDashboard({ origin, hash: "#/overview" });
    const { page } = dashboard;
    await page.getByText("live", { exact: true }).waitFor();
    const ended: string[] = [];
    page.on("requestfailed", (request) => {
      if (request.url().endsWith("/stats/stream")) ended.push(request.failure()?.errorText ?? "");
    });
    await page.getByRole("link", { name: "Routes" }).click();
    await until(() => ended.length === 1, "the stream to be closed");
    assert.deepEqual(ended, ["net::ERR_ABORTED"]);
    assert.deepEqual(dashboard.problems, []);
    await dashboard.close();
  });
});
