/**
 * The dashboard's shell in Chromium: served by the admin listener with a strict CSP, a login
 * with an admin key kept in session storage (a wrong one refused), and the read-only badge.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  type DashboardGateway,
  dashboardGatewayYaml,
  dashboardKeys,
  keylessGatewayYaml,
  openDashboard,
  startDashboardGateway,
} from "../helpers/dashboard.ts";

const config = `
${dashboardGatewayYaml()}services:
  - name: users
    targets: [{ url: http://127.0.0.1:9 }]
routes:
  - name: users-api
    match: { paths: ["/api/users"] }
    service: users
`;

describe("the dashboard's shell", () => {
  let gateway: DashboardGateway;
  let origin: string;

  before(async () => {
    gateway = await startDashboardGateway(config);
    origin = gateway.origin;
  });
  after(() => gateway?.close());

  it("serves the page without a key, under a CSP that allows only its own origin", async () => {
    const answer = await fetch(`${origin}/ui/`);
    assert.equal(answer.status, 200);
    // Its own files and API calls, nothing else; every dashboard test fails on a refusal.
    assert.equal(
      answer.headers.get("content-security-policy"),
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    assert.equal(answer.headers.get("x-frame-options"), "DENY");
    assert.match(await answer.text(), /<script type="module" src="app.js">/);
    const root = await fetch(`${origin}/`, { redirect: "manual" });
    assert.equal(root.headers.get("location"), "/ui/");
    assert.equal((await fetch(`${origin}/ui/nothing-here.js`)).status, 401);
  });

  it("refuses a wrong key and logs in with a good one, keeping it in session storage only", async () => {
    const dashboard = await openDashboard({ origin, loggedIn: false });
    const { page } = dashboard;
    await page.getByLabel("Admin key").fill("not-a-key-of-this-gateway");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByText("That key was not accepted.").waitFor();
    await page.getByLabel("Admin key").fill(dashboardKeys.ops);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.locator("#caller").getByText("ops").waitFor();
    assert.equal(
      await page.evaluate(() => sessionStorage.getItem("gatehouse.adminKey")),
      dashboardKeys.ops,
    );
    assert.deepEqual(await page.context().cookies(), []);
    // Nor anywhere that outlives the tab or travels: local storage, the address.
    const kept = await page.evaluate(() => JSON.stringify({ ...localStorage }));
    assert.ok(!kept.includes(dashboardKeys.ops), `local storage: ${kept}`);
    assert.ok(!page.url().includes(dashboardKeys.ops), page.url());
    await dashboard.screenshot("login");
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByLabel("Admin key").waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem("gatehouse.adminKey")), null);
    assert.deepEqual(
      dashboard.problems.filter((problem) => !/401/.test(problem)),
      [],
    );
    await dashboard.close();
  });

  it("shows a page for a link whose name does not decode", async () => {
    const dashboard = await openDashboard({
      origin,
      key: dashboardKeys.viewer,
      hash: "#/routes/users-api",
    });
    const { page } = dashboard;
    await page.getByRole("heading", { name: "Route users-api" }).waitFor();
    await page.goto(`${origin}/ui/#/routes/%E0%A4%A`);
    await page
      .getByRole("alert")
      .getByText(/not found|no route/i)
      .waitFor();
    assert.deepEqual(
      dashboard.problems.filter((problem) => !/status of (401|404)/.test(problem)),
      [],
    );
    await dashboard.close();
  });

  it("marks a read-only key", async () => {
    const dashboard = await openDashboard({ origin, key: dashboardKeys.viewer });
    await dashboard.page.locator("#caller").getByText("read-only").waitFor();
    assert.equal(await dashboard.page.locator("body.read-only").count(), 1);
    await dashboard.close();
  });
});

describe("the dashboard on a keyless loopback admin listener", () => {
  let gateway: DashboardGateway;
  let origin: string;

  before(async () => {
    gateway = await startDashboardGateway(keylessGatewayYaml);
    origin = gateway.origin;
  });
  after(() => gateway?.close());

  it("still refuses a change sent by another origin's page", async () => {
    // Any other origin will do: the gateway's proxy listener, under another port.
    const dashboard = await openDashboard({ origin, hash: "#/services" });
    const { page } = dashboard;
    await page.getByText("No services yet.").waitFor();
    const foreign = `http://127.0.0.1:${gateway.gateway.addresses().proxy[0]!.port}/`;
    await page.goto(foreign);
    const body = JSON.stringify({ name: "planted", targets: [{ url: "http://127.0.0.1:9" }] });
    // The two a page may send without asking: a no-cors fetch and a form post.
    const admin = JSON.stringify(`${origin}/services`);
    await page.evaluate(`(async () => {
      await fetch(${admin}, { method: "POST", mode: "no-cors",
        headers: { "content-type": "text/plain" }, body: ${JSON.stringify(body)} });
      const form = document.createElement("form");
      Object.assign(form, { method: "POST", action: ${admin}, enctype: "text/plain" });
      form.append(Object.assign(document.createElement("input"), { name: "name", value: "planted" }));
      document.body.append(form);
      form.submit();
    })()`);
    await page.waitForURL(`${origin}/services`);
    assert.match((await page.textContent("body")) ?? "", /GATEHOUSE_ORIGIN_NOT_ALLOWED/);
    const services = await fetch(`${origin}/services`);
    assert.deepEqual(((await services.json()) as { data: unknown[] }).data, []);
    // The dashboard itself, same-origin, still makes the change.
    const own = await openDashboard({ origin, hash: "#/services" });
    await own.page.getByText("No services yet.").waitFor();
    const made = await own.page.evaluate(async (body) => {
      const answer = await fetch("/services", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      return answer.status;
    }, body);
    assert.equal(made, 201);
    await dashboard.close();
    await own.close();
  });
});
