/**
 * The dashboard's shell in Chromium: served by the admin listener with a strict CSP, a login
 * with an admin key kept in session storage (a wrong one refused), and the read-only badge.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type AdminGateway, removeDir, startAdminGateway } from "../helpers/admin.ts";
import { closeBrowser, openDashboard } from "../helpers/dashboard.ts";

const config = `
gateway:
  listen: [{ host: 127.0.0.1, port: 0 }]
  admin:
    host: 127.0.0.1
    port: 0
    keys:
      - { id: ops, key: "ops-key-0123456789abcdef" }
      - { id: viewer, key: "viewer-key-0123456789abcdef", readOnly: true }
  log: { level: warn }
services:
  - name: users
    targets: [{ url: http://127.0.0.1:9 }]
routes:
  - name: users-api
    match: { paths: ["/api/users"] }
    service: users
`;

describe("the dashboard's shell", () => {
  let gateway: AdminGateway;
  let origin: string;

  before(async () => {
    gateway = await startAdminGateway(config);
    origin = `http://127.0.0.1:${gateway.gateway.addresses().admin!.port}`;
  });
  after(async () => {
    await closeBrowser();
    await gateway?.stop();
    await removeDir(gateway.dir);
  });

  it("serves the page without a key, under a CSP that allows only its own origin", async () => {
    const answer = await fetch(`${origin}/ui/`);
    assert.equal(answer.status, 200);
    const csp = answer.headers.get("content-security-policy") ?? "";
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
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
    await page.getByLabel("Admin key").fill("ops-key-0123456789abcdef");
    await page.getByRole("button", { name: "Log in" }).click();
    await page.locator("#caller").getByText("ops").waitFor();
    assert.equal(
      await page.evaluate(() => sessionStorage.getItem("gatehouse.adminKey")),
      "ops-key-0123456789abcdef",
    );
    assert.deepEqual(await page.context().cookies(), []);
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

  it("marks a read-only key", async () => {
    const dashboard = await openDashboard({ origin, key: "viewer-key-0123456789abcdef" });
    await dashboard.page.locator("#caller").getByText("read-only").waitFor();
    assert.equal(await dashboard.page.locator("body.read-only").count(), 1);
    await dashboard.close();
  });
});
