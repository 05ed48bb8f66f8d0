// The developer portal in a real headless Chromium (Debian's, driven by playwright-core),
// served by a real gateway in front of a real upstream: the page lists the published API,
// Swagger UI renders its operations from the gateway's own files, and "Try it out" →
// Execute on a key-auth operation, after entering a key in Authorize, shows the upstream's
// answer. A screenshot goes to test-results/screenshots/portal.png (and to
// docs/images/portal.png with GATEHOUSE_UPDATE_SCREENSHOTS=1).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const screenshot = join(root, "test-results/screenshots/portal.png");

/** The Chromium at /usr/bin/chromium or on PATH; a failure that says how to install it. */
function chromiumPath(): string {
  const found = spawnSync("sh", ["-c", "command -v chromium"], { encoding: "utf8" });
  const path = found.stdout.trim();
  if (found.status !== 0 || !path)
    throw new Error("chromium not found: install it with apt-get install -y chromium");
  return path;
}

describe("the developer portal in Chromium", () => {
  let up: Upstream;
  let gw: RunningGateway;
  let browser: Browser;
  let page: Page;
  /** Console errors (a CSP refusal among them), page errors and requests that left the gateway. */
  const problems: string[] = [];

  before(async () => {
    const executablePath = chromiumPath();
    up = await startUpstream((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(
        JSON.stringify({
          orders: [{ id: "order-1001", total: 42 }],
          caller: req.headers["x-consumer-name"] ?? null,
        }),
      );
    });
    gw = await startGateway(
      testConfig({
        gateway: {
          portal: { title: "Acme APIs", description: "Everything Acme offers." },
        },
        consumers: [{ name: "alice", credentials: { keys: ["alice-secret-key"] } }],
        services: [
          {
            name: "orders",
            title: "Orders",
            description: "Orders placed in the shop.",
            targets: [{ url: up.url }],
          },
        ],
        routes: [
          {
            name: "orders-api",
            portal: true,
            match: { paths: ["/api/orders"], methods: ["GET"] },
            service: "orders",
            plugins: [
              { name: "key-auth" },
              { name: "rate-limit", config: { limit: 100, window: "1m", by: "consumer" } },
            ],
          },
          { name: "internal", match: { paths: ["/internal/*"] }, service: "orders" },
        ],
      }),
    );
    browser = await chromium.launch({
      executablePath,
      headless: true,
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    page.setDefaultTimeout(15_000);
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console: ${message.text()}`);
    });
    page.on("request", (request) => {
      if (!request.url().startsWith(gw.url) && !request.url().startsWith("data:"))
        problems.push(`request outside the gateway: ${request.url()}`);
    });
  });
  after(async () => {
    await browser?.close();
    await gw?.stop();
    await up?.close();
  });

  it("lists the published API and renders it with Swagger UI", async () => {
    await page.goto(`${gw.url}/docs`);
    const card = page.locator('.portal-service[data-service="orders"]');
    await card.waitFor();
    assert.match((await card.textContent()) ?? "", /Orders[\s\S]*Orders placed in the shop/);
    assert.match((await card.textContent()) ?? "", /API key \(header x-api-key\)/);
    assert.match((await card.textContent()) ?? "", /100 requests per 1m per consumer/);
    assert.doesNotMatch((await page.locator("body").textContent()) ?? "", /\/internal/);
    const operation = page.locator(".opblock-summary", { hasText: "/api/orders" });
    await operation.first().waitFor();
    assert.equal(await page.locator(".opblock").count(), 1, "one published operation");
    assert.match((await page.locator(".info .title").textContent()) ?? "", /Acme APIs/);
  });

  it("tries a key-auth operation with the key entered in Authorize and shows the answer", async () => {
    await page.locator(".auth-wrapper .authorize").click();
    const dialog = page.locator(".dialog-ux .modal-ux");
    await dialog.waitFor();
    await dialog.locator("input").first().fill("alice-secret-key");
    await dialog.locator("button.authorize").click();
    await dialog.locator("button.btn-done").click();
    await page.locator(".opblock-summary", { hasText: "/api/orders" }).first().click();
    await page.locator(".try-out__btn").click();
    await page.locator("button.execute").click();
    const answer = page.locator(".live-responses-table .response-col_description");
    await answer.first().waitFor();
    await page.locator(".live-responses-table", { hasText: "order-1001" }).waitFor();
    const text = (await page.locator(".live-responses-table").textContent()) ?? "";
    assert.match(text, /200/);
    assert.match(text, /"caller": "alice"/);
    assert.equal(up.requests.at(-1)?.url, "/api/orders");
    await mkdir(join(root, "test-results/screenshots"), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    if (process.env.GATEHOUSE_UPDATE_SCREENSHOTS === "1")
      await copyFile(screenshot, join(root, "docs/images/portal.png"));
    assert.deepEqual(problems, []);
  });

  it("shows one service's document when the catalog's link asks for it", async () => {
    await page.goto(`${gw.url}/docs`);
    await page
      .locator('.portal-service[data-service="orders"] a', { hasText: "Show in the explorer" })
      .click();
    await page.waitForURL(/\?service=orders/);
    await page.locator(".info .title", { hasText: "Orders" }).waitFor();
    assert.doesNotMatch((await page.locator(".info .title").textContent()) ?? "", /Acme/);
    assert.deepEqual(problems, []);
  });
});
