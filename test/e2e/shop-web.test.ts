// The shop's front end in a real headless Chromium (Debian's, driven by playwright-core),
// loaded through the gateway of a shop started with `npm run shop`: it lists products,
// registers and logs in a user, places an order that ends `confirmed` and one with the
// declined card that ends `payment_failed`, lists them, and shows an API error as the
// gateway sent it. What the page shows is checked against the API itself.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { chromiumBinary } from "../helpers/browser.ts";
import { type ShopProcess, startShop } from "../helpers/shop-process.ts";

/** The full path of the Chromium on PATH (playwright-core wants a path, not a name). */
function chromiumPath(): string {
  const name = chromiumBinary();
  return spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
}

interface Order {
  order_id: string;
  status: string;
  items: { product_id: string; quantity: number }[];
}

describe("the shop's front end in Chromium", () => {
  let shop: ShopProcess;
  let browser: Browser;
  let page: Page;
  /** Console errors and failed requests, except the answers a step expects. */
  const problems: string[] = [];
  const expectedStatuses = new Set<string>();
  const user = {
    email: `web-${Date.now()}@example.com`,
    username: `web${Date.now()}`,
    password: "password123",
    fullName: "Web Shopper",
  };

  /** Calls the API from the test, with the token the page holds. */
  async function asThePage<T>(path: string): Promise<T> {
    const token = await page.evaluate(
      () => JSON.parse(sessionStorage.getItem("shop.session") ?? "{}").token as string,
    );
    assert.ok(token, "the page keeps the login's token");
    const answer = await fetch(`${shop.url}/api/v1${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(answer.status, 200, `GET ${path}`);
    return (await answer.json()) as T;
  }

  before(async () => {
    shop = await startShop();
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
    page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("response", (response) => {
      const key = `${response.request().method()} ${new URL(response.url()).pathname} ${response.status()}`;
      if (response.status() >= 400 && !expectedStatuses.has(key)) problems.push(key);
    });
  });

  after(async () => {
    await browser?.close();
    const stopped = await shop?.stop();
    assert.ok(
      stopped?.clean,
      `the shop stops cleanly on Ctrl-C:\n${stopped?.output.slice(-3_000)}`,
    );
  });

  it("loads through the gateway and lists products by page and category", async () => {
    await page.goto(`${shop.url}/`);
    assert.equal(await page.title(), "Gatehouse Shop");
    const products = page.locator("#product-list article");
    await products.first().waitFor();
    assert.equal(await products.count(), 8);
    await page
      .getByRole("status")
      .filter({ hasText: /^\d+ products\.$/ })
      .waitFor();
    const { total } = (await (
      await fetch(`${shop.url}/api/v1/products?page=1&page_size=1`)
    ).json()) as { total: number };
    assert.equal(await page.locator("#products-status").textContent(), `${total} products.`);
    assert.match((await products.first().textContent()) ?? "", /\$\d+\.\d\d.*in stock/);

    await page.getByRole("button", { name: "Next" }).click();
    await page.getByText(`Page 2 of ${Math.ceil(total / 8)}`).waitFor();

    const category = page.getByLabel("Category");
    const first = (await category.locator("option").nth(1).getAttribute("value"))!;
    await category.selectOption(first);
    await page
      .locator("#products-status")
      .filter({ hasText: ` in ${first}.` })
      .waitFor();
    for (const label of await page.locator("#product-list .category").allTextContents()) {
      assert.equal(label, first);
    }
    await category.selectOption("");
    await page.getByText(`Page 1 of ${Math.ceil(total / 8)}`).waitFor();
  });

  it("registers (the API's errors for a bad field and a taken email shown), and logs in", async () => {
    await page.getByText("New here? Create an account").click();
    const form = page.locator("#register-form");
    const fill = async () => {
      await form.getByLabel("Email").fill(user.email);
      await form.getByLabel("Username").fill(user.username);
      await form.getByLabel("Password").fill(user.password);
      await form.getByLabel("Full name").fill(user.fullName);
      await form.getByLabel("Phone").fill("1234567890");
    };
    // A bad field first: the users service names it, and the page marks that input.
    expectedStatuses.add("POST /api/v1/users/register 400");
    await fill();
    await form.getByLabel("Email").fill("not-an-email");
    await page.getByRole("button", { name: "Create account" }).click();
    await page.locator("#register-error").filter({ hasText: "INVALID_ARGUMENT" }).waitFor();
    assert.match((await page.locator("#register-error").textContent())!, /email: /);
    assert.equal(await form.getByLabel("Email").getAttribute("aria-invalid"), "true");
    assert.equal(await form.getByLabel("Username").getAttribute("aria-invalid"), null);

    await form.getByLabel("Email").fill(user.email);
    await page.getByRole("button", { name: "Create account" }).click();
    await page.getByRole("status").filter({ hasText: "your account is ready" }).waitFor();
    assert.equal(await page.locator("#register-error").isHidden(), true);

    // The same email again: the users service's 409, shown as the gateway sent it.
    expectedStatuses.add("POST /api/v1/users/register 409");
    await page.getByText("New here? Create an account").click();
    await fill();
    await page.getByRole("button", { name: "Create account" }).click();
    const alert = page.locator("#register-error");
    await alert.waitFor();
    assert.equal(await alert.getAttribute("role"), "alert");
    assert.match((await alert.textContent()) ?? "", /ALREADY_EXISTS · request \S+/);
    await page.getByText("New here? Create an account").click();

    const login = page.locator("#login-form");
    await login.getByLabel("Email").fill(user.email);
    await login.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByText(`Logged in as ${user.username}`).waitFor();
    assert.equal(await page.locator("#profile-name").textContent(), user.fullName);
    assert.equal(await page.locator("#orders-status").textContent(), "No orders yet.");
  });

  it("places an order that ends confirmed, and lists it", async () => {
    const card = page.locator("#product-list article").first();
    const name = (await card.locator(".product-name").textContent())!;
    const stockBefore = Number(/\d+/.exec((await card.locator(".stock").textContent())!)![0]);
    await page.getByLabel(`Quantity of ${name}`).fill("2");
    await page.getByRole("button", { name: `Add ${name} to order` }).click();
    await page.locator("#cart-items").getByText(name).waitFor();
    await page.getByLabel("Payment method").selectOption("credit_card");
    await page.getByRole("button", { name: "Place order" }).click();

    const badge = page.locator("#order-status [data-status]");
    await badge.waitFor();
    assert.equal(await badge.getAttribute("data-status"), "confirmed");
    assert.equal(await badge.textContent(), "confirmed");
    const orderId = (await page.locator("#order-status code").getAttribute("title"))!;
    // The order's details open below the list, and the list has it.
    await page.locator("#order-detail h3 code").filter({ hasText: orderId }).waitFor();
    await page.locator("#order-detail [data-status='confirmed']").waitFor();
    await page.locator("#orders-body tr").first().waitFor();

    const order = await asThePage<Order>(`/orders/${orderId}`);
    assert.equal(order.status, "confirmed");
    assert.equal(order.items[0]!.quantity, 2);
    // The stock the page shows went down by what was ordered.
    await card
      .locator(".stock")
      .filter({ hasText: `${stockBefore - 2} in stock` })
      .waitFor();
    // Users counts confirmed orders from the orders.confirmed event, off the saga's path.
    await page.locator("#profile-orders").filter({ hasText: /^1$/ }).waitFor();
  });

  it("places an order with the declined card that ends payment_failed", async () => {
    const card = page.locator("#product-list article").nth(1);
    const name = (await card.locator(".product-name").textContent())!;
    const stock = (await card.locator(".stock").textContent())!;
    await page.getByRole("button", { name: `Add ${name} to order` }).click();
    await page.getByLabel("Payment method").selectOption("declined_card");
    await page.getByRole("button", { name: "Place order" }).click();

    const badge = page.locator("#order-status [data-status='payment_failed']");
    await badge.waitFor();
    assert.equal(await badge.textContent(), "payment failed");
    assert.match((await page.locator("#order-status").textContent())!, /declined/);
    const orderId = (await page.locator("#order-status code").getAttribute("title"))!;
    await page.locator("#order-detail h3 code").filter({ hasText: orderId }).waitFor();
    await page.locator("#order-detail [data-status='payment_failed']").waitFor();
    assert.equal((await asThePage<Order>(`/orders/${orderId}`)).status, "payment_failed");

    // Both orders are listed, newest first; the declined one held no stock.
    const rows = page.locator("#orders-body tr");
    await page.locator("#orders-status").filter({ hasText: "2 orders." }).waitFor();
    assert.equal(
      await rows.nth(0).locator("[data-status]").getAttribute("data-status"),
      "payment_failed",
    );
    assert.equal(
      await rows.nth(1).locator("[data-status]").getAttribute("data-status"),
      "confirmed",
    );
    assert.equal(await card.locator(".stock").textContent(), stock);
    const { orders } = await asThePage<{ orders: Order[] }>("/orders");
    assert.deepEqual(orders.map((entry) => entry.status).sort(), ["confirmed", "payment_failed"]);
  });

  it("logs out, and the orders go with the session", async () => {
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByText("Not logged in").waitFor();
    assert.equal(await page.locator("#orders-status").textContent(), "Log in to see your orders.");
    assert.equal(await page.evaluate(() => sessionStorage.getItem("shop.session")), null);
    assert.deepEqual(problems, []);
  });
});
