/**
 * The dashboard's routes, services, consumers and plugins pages in Chromium, against a real
 * gateway and real upstreams: a route created through the schema form serves at once, a
 * service's target edited, the list searched, a server problem shown at its field (and at
 * its line in the YAML), a delete confirmed after its diff, a change made meanwhile caught
 * by If-Match, and a read-only key given no edit control.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, describe, it } from "node:test";
import { type AdminGateway, removeDir, startAdminGateway } from "../helpers/admin.ts";
import {
  closeBrowser,
  dashboardGatewayYaml,
  dashboardKeys,
  openDashboard,
} from "../helpers/dashboard.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const { ops, viewer } = dashboardKeys;

/**
 * What went wrong in the page, less the one 401 every login starts with (the page asks who
 * it is before it has a key) and the statuses a test provokes.
 */
const unexpected = (problems: string[], ...expected: number[]) =>
  problems.filter(
    (problem) => ![401, ...expected].some((status) => problem.includes(`status of ${status}`)),
  );

const named = (name: string) => (_req: unknown, res: import("node:http").ServerResponse) =>
  res.writeHead(200, { "content-type": "text/plain" }).end(`answered by ${name}`);

describe("the dashboard's resource pages", () => {
  let gateway: AdminGateway;
  let origin: string;
  let first: Upstream;
  let second: Upstream;

  before(async () => {
    first = await startUpstream(named("first"));
    second = await startUpstream(named("second"));
    gateway = await startAdminGateway(`
${dashboardGatewayYaml()}services:
  - name: users
    targets: [{ url: "${first.url}" }]
  - name: orders
    targets: [{ url: "${first.url}" }]
routes:
  - name: users-api
    match: { paths: ["/api/users"] }
    service: users
  - name: status
    match: { paths: ["/status"], methods: [GET] }
    service: orders
consumers:
  - name: alice
    credentials: { keys: ["alice-secret-key-1"] }
  - name: bob
    groups: [partners]
`);
    origin = `http://127.0.0.1:${gateway.gateway.addresses().admin!.port}`;
  });
  /** The admin API, as the ops key. */
  const admin = (method: string, path: string, body?: unknown) =>
    gateway.admin(method, path, body, { authorization: `Bearer ${ops}` });

  after(async () => {
    await closeBrowser();
    await gateway?.stop();
    await removeDir(gateway.dir);
    await first?.close();
    await second?.close();
  });

  it("creates a route through the form: the diff first, then the proxy serves it", async () => {
    const dashboard = await openDashboard({ origin, key: ops, hash: "#/routes" });
    const { page } = dashboard;
    await page.getByRole("link", { name: "New route" }).click();
    await page.getByLabel("name", { exact: true }).fill("orders-api");
    await page.getByRole("button", { name: "Add paths" }).click();
    await page.getByLabel("paths 1", { exact: true }).fill("/api/orders");
    await page.getByRole("combobox", { name: "service", exact: true }).fill("orders");
    await page.getByRole("button", { name: "Add plugins" }).click();
    await page.getByLabel("plugins 1 name", { exact: true }).selectOption("rate-limit");
    await page.getByLabel("limit", { exact: true }).fill("100");
    await page.getByLabel("window", { exact: true }).fill("1m");
    const help = await page.getByLabel("limit", { exact: true }).getAttribute("aria-describedby");
    assert.match(
      (await page.locator(`[id="${help!.split(" ")[0]}"]`).textContent())!,
      /Requests admitted per window/,
    );
    // The plugin and its options in view, below the sticky bar.
    await page.locator("fieldset", { hasText: "plugins 1 name" }).last().scrollIntoViewIfNeeded();
    await page.mouse.wheel(0, -70);
    await dashboard.screenshot("route-edit");
    const before = (await admin("GET", "/config")).headers.etag;
    await page.getByRole("button", { name: "Review and save" }).click();
    await page.getByText("created route orders-api").waitFor();
    const next = Number(String(before).replaceAll('"', "")) + 1;
    await page.getByText(`This creates version ${next}.`).waitFor();
    assert.equal((await admin("GET", "/routes/orders-api")).status, 404);
    await page.getByRole("button", { name: "Create route" }).click();
    await page.getByText(`Saved route orders-api: version ${next} is serving.`).waitFor();
    assert.deepEqual((await admin("GET", "/routes/orders-api")).body, {
      name: "orders-api",
      match: { paths: ["/api/orders"] },
      service: "orders",
      plugins: [{ name: "rate-limit", config: { limit: 100, window: "1m" } }],
    });
    const answer = await gateway.proxy("/api/orders");
    assert.deepEqual(answer, { status: 200, body: "answered by first" });
    const versions = (await admin("GET", "/config/versions")).body;
    assert.equal(versions.versions[0].version, next);
    assert.deepEqual(unexpected(dashboard.problems), []);
    await dashboard.close();
  });

  it("creates a global plugin: its name, then its own options", async () => {
    const dashboard = await openDashboard({ origin, key: ops, hash: "#/plugins" });
    const { page } = dashboard;
    await page.getByRole("link", { name: "New global plugin" }).click();
    await page.getByLabel("name", { exact: true }).selectOption("security-headers");
    await page.getByLabel("frameOptions", { exact: true }).fill("SAMEORIGIN");
    await page.getByRole("tab", { name: "Edit as YAML" }).click();
    assert.equal(
      await page.getByLabel("The global plugin as YAML").inputValue(),
      "name: security-headers\nconfig:\n  frameOptions: SAMEORIGIN\n",
    );
    await page.getByRole("button", { name: "Review and save" }).click();
    await page.getByText("created plugin security-headers").waitFor();
    await page.getByRole("button", { name: "Create global plugin" }).click();
    await page.getByText(/Saved global plugin security-headers: version \d+/).waitFor();
    const proxy = gateway.gateway.addresses().proxy[0]!.port;
    const answer = await fetch(`http://127.0.0.1:${proxy}/api/users`);
    assert.equal(answer.headers.get("x-frame-options"), "SAMEORIGIN");
    assert.deepEqual(unexpected(dashboard.problems), []);
    await dashboard.close();
  });

  it("edits a service's target through the form", async () => {
    const dashboard = await openDashboard({ origin, key: ops, hash: "#/services/orders" });
    const { page } = dashboard;
    await page.getByRole("link", { name: "Edit", exact: true }).click();
    assert.equal(
      await page.getByLabel("name", { exact: true }).first().getAttribute("readonly"),
      "",
    );
    await page.getByLabel("url", { exact: true }).fill(second.url);
    await page.getByRole("button", { name: "Review and save" }).click();
    await page.getByText("updated service orders").waitFor();
    await page.getByRole("button", { name: "Save service" }).click();
    await page.getByText(/Saved service orders: version \d+ is serving\./).waitFor();
    const ordersRoute = { name: "orders-v2", match: { paths: ["/v2/orders"] }, service: "orders" };
    assert.equal((await admin("POST", "/routes", ordersRoute)).status, 201);
    await until(
      async () => (await gateway.proxy("/v2/orders")).body === "answered by second",
      "the orders service answered by its new target",
    );
    assert.equal((await gateway.proxy("/api/users")).body, "answered by first");
    const orders = (await admin("GET", "/services/orders")).body;
    assert.deepEqual(orders, { name: "orders", targets: [{ url: second.url }] });
    assert.deepEqual(unexpected(dashboard.problems), []);
    await dashboard.close();
  });

  it("does not save over a change someone else made to the resource since it was opened", async () => {
    const dashboard = await openDashboard({ origin, key: ops, hash: "#/routes/status?edit" });
    const { page } = dashboard;
    const stripPrefix = page.getByLabel("stripPrefix", { exact: true });
    await stripPrefix.waitFor();
    assert.equal(await stripPrefix.inputValue(), "");
    // Someone else changes this route while the form is open; the form's edit is another field.
    const patched = await admin("PATCH", "/routes/status", { stripPrefix: "/status" });
    assert.equal(patched.status, 200);
    await page.getByLabel("preserveHost", { exact: true }).fill("true");
    await page.getByRole("button", { name: "Review and save" }).click();
    await page.getByRole("heading", { name: "Someone else changed route status" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Save route" }).count(), 0);
    assert.deepEqual((await admin("GET", "/routes/status")).body, {
      name: "status",
      match: { paths: ["/status"], methods: ["GET"] },
      service: "orders",
      stripPrefix: "/status",
    });
    await page.getByRole("button", { name: "Open it again" }).click();
    await until(async () => (await stripPrefix.inputValue()) === "/status", "the route as it is");
    assert.deepEqual(unexpected(dashboard.problems), []);
    await dashboard.close();
  });

  it("filters the list as you type", async () => {
    const dashboard = await openDashboard({ origin, key: ops, hash: "#/routes" });
    const { page } = dashboard;
    const rows = page.locator("tbody tr:visible");
    await page.getByRole("link", { name: "users-api" }).waitFor();
    assert.ok((await rows.count()) >= 2);
    await dashboard.screenshot("routes");
    await page.getByLabel("Search routes").pressSequentially("user");
    await page.getByText(/^1 of \d+ routes$/).waitFor();
    assert.deepEqual(await rows.locator("td:first-child").allTextContents(), ["users-api"]);
    await page.getByLabel("Search routes").fill("nothing-matches");
    await page.getByText(/^0 of \d+ routes$/).waitFor();
    assert.deepEqual(unexpected(dashboard.problems), []);
    await dashboard.close();
  });

  it("shows the server's problem at its field, and at its line in the YAML", async () => {
    const dashboard = await openDashboard({ origin, key: ops, hash: "#/routes?new" });
    const { page } = dashboard;
    await page.getByLabel("name", { exact: true }).fill("broken");
    await page.getByRole("button", { name: "Add paths" }).click();
    await page.getByLabel("paths 1", { exact: true }).fill("/broken");
    await page.getByRole("combobox", { name: "service", exact: true }).fill("order");
    await page.getByRole("button", { name: "Review and save" }).click();
    const service = page.getByRole("combobox", { name: "service", exact: true });
    await page.locator('[aria-invalid="true"]').first().waitFor();
    assert.equal(await service.getAttribute("aria-invalid"), "true");
    const error = (await service.getAttribute("aria-describedby"))!.split(" ").at(-1);
    assert.match((await page.locator(`[id="${error}"]`).textContent())!, /unknown service "order"/);
    await page.getByText("The change has problems; nothing was saved").waitFor();

    await page.getByRole("tab", { name: "Edit as YAML" }).click();
    const yaml = page.getByLabel("The route as YAML");
    assert.equal(
      await yaml.inputValue(),
      "name: broken\nmatch:\n  paths:\n    - /broken\nservice: order\n",
    );
    await yaml.press("Control+s");
    await page.getByText(/line 5, column 10: unknown service "order"/).waitFor();
    // Checked as you type, without saving.
    await yaml.fill("name: broken\nmatch:\n  paths: [/broken]\nservice: ordr\n");
    await page.getByText(/line 4, column 10: unknown service "ordr"/).waitFor();
    await yaml.fill("name: broken\nmatch: [\n");
    await page.getByRole("button", { name: "Review and save" }).click();
    await page.getByText(/^line 3, column 1: /).waitFor();
    assert.equal((await admin("GET", "/routes/broken")).status, 404);
    assert.deepEqual(unexpected(dashboard.problems), []);
    await dashboard.close();
  });

  it("keeps a consumer's redacted secret as it is when another field changes", async () => {
    const dashboard = await openDashboard({ origin, key: ops, hash: "#/consumers/alice" });
    const { page } = dashboard;
    await page.getByText("[redacted]").first().waitFor();
    await page.getByRole("link", { name: "Edit as YAML" }).click();
    const yaml = page.getByLabel("The consumer as YAML");
    assert.match(await yaml.inputValue(), /- "?\[redacted\]"?/);
    await yaml.fill(`${await yaml.inputValue()}groups:\n  - partners\n`);
    await page.getByRole("button", { name: "Review and save" }).click();
    await page.getByText("updated consumer alice").waitFor();
    await page.getByRole("button", { name: "Save consumer" }).click();
    await page.getByText(/Saved consumer alice: version \d+/).waitFor();
    assert.deepEqual((await admin("GET", "/consumers/alice")).body, {
      name: "alice",
      credentials: { keys: ["[redacted]"] },
      groups: ["partners"],
    });
    assert.match(await readFile(gateway.file, "utf8"), /alice-secret-key-1/);
    assert.deepEqual(unexpected(dashboard.problems), []);
    await dashboard.close();
  });

  it("deletes after showing the diff, and explains a change made meanwhile", async () => {
    const dashboard = await openDashboard({ origin, key: ops, hash: "#/consumers/bob" });
    const { page } = dashboard;
    await page.getByRole("button", { name: "Delete" }).click();
    await page.getByText("deleted consumer bob").waitFor();
    const planned = Number(
      (await page.locator(".next-version").textContent())!.match(/version (\d+)/)![1],
    );
    // Someone else changes the config between the check and the confirmation.
    assert.equal((await admin("POST", "/consumers", { name: "carol" })).status, 201);
    await page.getByRole("button", { name: "Delete consumer bob" }).click();
    await page.getByText("Someone else changed the config").waitFor();
    assert.equal((await admin("GET", "/consumers/bob")).status, 200);
    await page.getByRole("button", { name: "Reload and check again" }).click();
    await page.getByText(`This creates version ${planned + 1}.`).waitFor();
    await page.getByRole("button", { name: "Delete consumer bob" }).click();
    await page.getByText(`Deleted consumer bob: version ${planned + 1} is serving.`).waitFor();
    assert.deepEqual(await page.locator("tbody td:first-child").allTextContents(), [
      "alice",
      "carol",
    ]);
    assert.equal((await admin("GET", "/consumers/bob")).status, 404);
    assert.deepEqual(unexpected(dashboard.problems, 409), []);
    await dashboard.close();
  });

  it("gives a read-only key the lists and details but no edit control", async () => {
    const dashboard = await openDashboard({ origin, key: viewer, hash: "#/routes" });
    const { page } = dashboard;
    await page.getByRole("link", { name: "users-api" }).click();
    await page.getByText("As written in the config").waitFor();
    await page.getByText("service: users").waitFor();
    assert.equal(await page.locator(".summary dt").first().textContent(), "Paths");
    assert.equal(await page.locator(".summary dd").first().textContent(), "/api/users");
    assert.equal(await page.locator("[data-edit]").count(), 0);
    await page.goto(`${origin}/ui/#/routes/users-api?edit`);
    await page.getByText("As written in the config").waitFor();
    assert.equal(await page.locator("[data-edit], .schema-form").count(), 0);
    await page.goto(`${origin}/ui/#/routes?new`);
    await page.getByRole("link", { name: "users-api" }).waitFor();
    assert.equal(await page.getByRole("link", { name: "New route" }).count(), 0);
    await page.goto(`${origin}/ui/#/consumers`);
    await page.getByRole("link", { name: "alice" }).click();
    await page.getByText("[redacted]").first().waitFor();
    assert.equal(await page.locator("[data-edit]").count(), 0);
    assert.equal(await page.getByRole("button", { name: "Delete" }).count(), 0);
    // The global plugins, listed and shown, likewise.
    await page.goto(`${origin}/ui/#/plugins`);
    await page.getByRole("link", { name: "security-headers" }).click();
    await page.getByText("As written in the config").waitFor();
    assert.equal(await page.locator("[data-edit]").count(), 0);
    await page.goto(`${origin}/ui/#/plugins?new`);
    await page.getByRole("link", { name: "security-headers" }).waitFor();
    assert.equal(await page.locator("[data-edit], .schema-form").count(), 0);
    assert.deepEqual(unexpected(dashboard.problems), []);
    await dashboard.close();
  });
});
