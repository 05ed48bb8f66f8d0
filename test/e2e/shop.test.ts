// The demo shop end to end, started as `npm run shop` starts it (its script, run directly,
// so Ctrl-C's exit code is the launcher's, not npm's): the design documents'
// curl flow run as written (bash, curl, jq) through the gateway, then what a user of the
// shop would see go wrong (a declined card, another user's order, no token, a bad page
// size), one trace across the gateway and the services, and Ctrl-C stopping every process
// with exit 0; first embedded (one host process, PGlite, the memory registry), then
// external (a process per service on the harness's own PostgreSQL, NATS and etcd), where a
// payments instance killed during a burst of orders fails no order and charges none twice.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { type EtcdServer, startEtcdServer } from "../helpers/etcd-server.ts";
import { type NatsServer, startNatsServer } from "../helpers/nats-server.ts";
import { type OtlpReceiver, startOtlpReceiver } from "../helpers/otlp-receiver.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/postgres.ts";
import { api, bash, jsonValues, printedPid, signedInUser } from "../helpers/shop-api.ts";
import { type ShopProcess, startShop } from "../helpers/shop-process.ts";

/** The flow exactly as the design documents write it. */
const designFlow = `BASE=http://127.0.0.1:8080/api/v1
curl -s -X POST $BASE/users/register -H 'Content-Type: application/json' \\
  -d '{"email":"test@example.com","username":"testuser","password":"password123","full_name":"Test User","phone":"1234567890"}'
TOKEN=$(curl -s -X POST $BASE/users/login -H 'Content-Type: application/json' \\
  -d '{"email":"test@example.com","password":"password123"}' | jq -r '.token')
PRODUCT_ID=$(curl -s "$BASE/products?page=1&page_size=10" | jq -r '.products[0].id')
ORDER_ID=$(curl -s -X POST $BASE/orders -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
  -d '{"items":[{"product_id":"'$PRODUCT_ID'","quantity":2}],"payment_method":"credit_card"}' | jq -r '.order_id')
curl -s $BASE/orders/$ORDER_ID -H "Authorization: Bearer $TOKEN"
`;

for (const tool of ["curl", "jq", "bash"]) {
  if (spawnSync(tool, ["--version"]).error) {
    throw new Error(`${tool} not found on PATH: install it with \`apt-get install -y ${tool}\``);
  }
}

/** A trace id and its W3C traceparent, for a request whose spans a test looks for. */
function newTrace(): { traceId: string; traceparent: string } {
  const traceId = randomBytes(16).toString("hex");
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01` };
}

/** Whether the current mode's shop was stopped by its last test (else `after` stops it). */
let stopped = false;

/** The tests both modes pass; `shop()` is the running shop. */
function sharedBehaviour(shop: () => ShopProcess, otlp: () => OtlpReceiver) {
  it("runs the design documents' curl flow as written: the order is confirmed", async () => {
    const script = designFlow.replaceAll("127.0.0.1:8080", new URL(shop().url).host);
    const run = await bash(script);
    assert.equal(run.code, 0, run.stderr);
    // biome-ignore lint/suspicious/noExplicitAny: the flow's JSON output, checked field by field
    const [registered, order] = jsonValues(run.stdout) as Record<string, any>[];
    assert.equal(registered?.email, "test@example.com", run.stdout);
    assert.equal(registered?.username, "testuser");
    assert.ok(registered?.id, run.stdout);
    assert.equal(order?.status, "confirmed", run.stdout);
    assert.equal(order?.user_id, registered?.id);
    assert.equal(order?.items?.length, 1);
    assert.equal(order?.items[0].quantity, 2);
    assert.equal(order?.total, order?.items[0].unit_price * 2);
  });

  it("ends an order paid with a declined card payment_failed, with its stock back", async () => {
    const { token } = await signedInUser(shop().url);
    const listed = await api(shop().url, "GET", "/products?page=1&page_size=20");
    const product = listed.body.products.find((p: { stock: number }) => p.stock >= 3);
    assert.ok(product, JSON.stringify(listed.body));
    const placed = await api(shop().url, "POST", "/orders", {
      token,
      body: { items: [{ product_id: product.id, quantity: 3 }], payment_method: "declined_card" },
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    assert.equal(placed.body.status, "payment_failed");
    const order = await api(shop().url, "GET", `/orders/${placed.body.order_id}`, { token });
    assert.equal(order.body.status, "payment_failed");
    const after = await api(shop().url, "GET", `/products/${product.id}`);
    assert.equal(after.body.stock, product.stock);
  });

  it("answers 404 to a user reading another user's order", async () => {
    const alice = await signedInUser(shop().url);
    const bob = await signedInUser(shop().url);
    const listed = await api(shop().url, "GET", "/products?page=1&page_size=1");
    const placed = await api(shop().url, "POST", "/orders", {
      token: alice.token,
      body: {
        items: [{ product_id: listed.body.products[0].id, quantity: 1 }],
        payment_method: "credit_card",
      },
    });
    assert.equal(placed.status, 201, JSON.stringify(placed.body));
    const own = await api(shop().url, "GET", `/orders/${placed.body.order_id}`, {
      token: alice.token,
    });
    assert.equal(own.status, 200);
    const other = await api(shop().url, "GET", `/orders/${placed.body.order_id}`, {
      token: bob.token,
    });
    assert.equal(other.status, 404, JSON.stringify(other.body));
    // Claiming to be Alice in a header changes nothing: the gateway drops it.
    const claimed = await api(shop().url, "GET", `/orders/${placed.body.order_id}`, {
      token: bob.token,
      headers: { "x-user-id": alice.userId },
    });
    assert.equal(claimed.status, 404);
    const bobs = await api(shop().url, "GET", "/orders", { token: bob.token });
    assert.deepEqual(bobs.body.orders ?? [], []);
  });

  it("answers 401 with a JSON error to an order placed without a token", async () => {
    const answer = await api(shop().url, "POST", "/orders", {
      body: { items: [{ product_id: "p", quantity: 1 }], payment_method: "credit_card" },
    });
    assert.equal(answer.status, 401);
    assert.match(answer.contentType, /application\/json/);
    assert.equal(answer.body.error?.code, "GATEHOUSE_UNAUTHORIZED", JSON.stringify(answer.body));
    assert.equal(typeof answer.body.error?.message, "string");
    assert.equal(typeof answer.body.error?.requestId, "string");
  });

  it("answers 400 naming page_size to a page size of 0", async () => {
    const answer = await api(shop().url, "GET", "/products?page=1&page_size=0");
    assert.equal(answer.status, 400, JSON.stringify(answer.body));
    assert.equal(answer.body.error?.code, "INVALID_ARGUMENT", JSON.stringify(answer.body));
    assert.match(answer.body.error.message, /^page_size: /);
  });

  it("refuses a request body over 64 kB with 413", async () => {
    const { token } = await signedInUser(shop().url);
    const answer = await api(shop().url, "POST", "/orders", {
      token,
      body: { items: [], payment_method: "x".repeat(70_000) },
    });
    assert.equal(answer.status, 413, JSON.stringify(answer.body));
    assert.equal(answer.body.error?.code, "GATEHOUSE_BODY_TOO_LARGE");
  });

  it("records one trace across the gateway, orders, inventory and payments", async () => {
    const { token } = await signedInUser(shop().url);
    const listed = await api(shop().url, "GET", "/products?page=1&page_size=1");
    const { traceId, traceparent } = newTrace();
    const placed = await api(shop().url, "POST", "/orders", {
      token,
      headers: { traceparent },
      body: {
        items: [{ product_id: listed.body.products[0].id, quantity: 1 }],
        payment_method: "credit_card",
      },
    });
    assert.equal(placed.body.status, "confirmed", JSON.stringify(placed.body));
    const wanted = [
      "shop.orders.v1.OrderService/PlaceOrder",
      "shop.inventory.v1.InventoryService/Reserve",
      "shop.payments.v1.PaymentService/Charge",
    ];
    const deadline = Date.now() + 15_000;
    const inTrace = () => otlp().spans.filter((span) => span.traceId === traceId);
    const complete = () =>
      inTrace().some((span) => span.resource["service.name"] === "gateway") &&
      wanted.every((name) => inTrace().some((span) => span.name === name && span.kind === 2));
    while (!complete() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const seen = inTrace().map(
      (span) => `${span.resource["service.name"]}: ${span.name} (${span.kind})`,
    );
    assert.ok(complete(), `spans of the trace:\n${seen.join("\n")}`);
  });
}

/** The last test of a mode: Ctrl-C stops the launcher and every child it printed, exit 0. */
function stopsOnCtrlC(shop: () => ShopProcess, labels: string[]) {
  it("stops every process on Ctrl-C and exits 0", async () => {
    const pids = labels.map((label) => printedPid(shop().output(), label));
    const { clean, code, output } = await shop().stop();
    assert.ok(clean, output.slice(-3000));
    assert.equal(code, 0, output.slice(-3000));
    for (const pid of pids) {
      assert.throws(() => process.kill(pid, 0), /ESRCH/, `pid ${pid} is still running`);
    }
    stopped = true;
  });
}

describe("the shop, embedded", () => {
  let shop: ShopProcess;
  let otlp: OtlpReceiver;
  before(async () => {
    otlp = await startOtlpReceiver();
    stopped = false;
    shop = await startShop("exec node examples/shop/start.ts", {
      OTEL_EXPORTER_OTLP_ENDPOINT: new URL(otlp.endpoint).origin,
    });
  });
  after(async () => {
    if (shop && !stopped) await shop.stop();
    await otlp?.close();
  });
  sharedBehaviour(
    () => shop,
    () => otlp,
  );
  stopsOnCtrlC(() => shop, ["gateway", "services"]);
});

describe("the shop, external", () => {
  let shop: ShopProcess;
  let otlp: OtlpReceiver;
  let nats: NatsServer;
  let etcd: EtcdServer;
  let database: TestDatabase;
  before(async () => {
    [otlp, nats, etcd, database] = await Promise.all([
      startOtlpReceiver(),
      startNatsServer(),
      startEtcdServer(),
      createTestDatabase(),
    ]);
    stopped = false;
    shop = await startShop("exec node examples/shop/start.ts", {
      SHOP_MODE: "external",
      DATABASE_URL: database.url,
      NATS_URL: nats.url,
      ETCD_URL: etcd.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: new URL(otlp.endpoint).origin,
      // Charges take a moment, so a burst has some in flight when an instance dies.
      PAYMENTS_DELAY: "200ms",
    });
  });
  after(async () => {
    if (shop && !stopped) await shop.stop();
    await Promise.all([otlp?.close(), nats?.remove(), etcd?.remove(), database?.drop()]);
  });
  sharedBehaviour(
    () => shop,
    () => otlp,
  );

  it("fails no order and charges none twice when a payments instance is killed during a burst", async () => {
    const { token } = await signedInUser(shop.url);
    const listed = await api(shop.url, "GET", "/products?page=1&page_size=20");
    const products = listed.body.products.filter((p: { stock: number }) => p.stock >= 2);
    assert.ok(products.length >= 4, JSON.stringify(listed.body));
    const burst = Array.from({ length: 16 }, (_, i) =>
      api(shop.url, "POST", "/orders", {
        token,
        headers: { "idempotency-key": `burst-${i}` },
        body: {
          items: [{ product_id: products[i % products.length].id, quantity: 1 }],
          payment_method: "credit_card",
        },
      }),
    );
    let settled = 0;
    for (const order of burst) void order.finally(() => settled++);
    await new Promise((resolve) => setTimeout(resolve, 150));
    process.kill(printedPid(shop.output(), "payments#2"), "SIGKILL");
    // The instance died during the burst, not after it.
    assert.ok(settled < burst.length, `all ${settled} orders had ended before the kill`);
    const answers = await Promise.all(burst);
    for (const answer of answers) {
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      assert.equal(answer.body.status, "confirmed", JSON.stringify(answer.body));
    }
    const orderIds = answers.map((answer) => answer.body.order_id as string);
    assert.equal(new Set(orderIds).size, 16);
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ payment_id: string; status: string }>(
        "select payment_id, status from shop_payments.payments where payment_id = any($1)",
        [orderIds],
      );
      assert.deepEqual(rows.map((row) => row.payment_id).sort(), [...orderIds].sort());
      assert.ok(
        rows.every((row) => row.status === "charged"),
        JSON.stringify(rows),
      );
    } finally {
      await client.end();
    }
    assert.match(shop.output(), /payments#2 was killed by SIGKILL; the other instances carry on/);
  });

  stopsOnCtrlC(
    () => shop,
    ["gateway", "users", "products", "orders", "payments", "inventory", "inventory#2"],
  );
});
