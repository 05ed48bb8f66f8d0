// The shop services' behaviour, run by shop-services.test.ts (embedded: PGlite and the
// embedded event transport) and shop-services-external.test.ts (PostgreSQL and NATS, two
// instances of payments and inventory): the services registered in a real gateway's
// registry and called with @grpc/grpc-js clients as the gateway would. Accounts and tokens,
// the catalogue with its stock, orders through the place-order saga (confirmed, declined,
// out of stock), one trace across the services, no overselling under concurrency, and
// idempotency keys.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { trace } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { seedProducts } from "../../examples/shop/seed.ts";
import type { RunningService, ShopServiceName } from "../../examples/shop/services/index.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { registryClient } from "../helpers/registry.ts";
import { type Answer, badFields, clientOf, rejectsWith } from "../helpers/shop-grpc.ts";
import { until } from "../helpers/until.ts";

/** The services as a test started them: one running service of each name (the first instance). */
export interface StartedShop {
  services: Record<ShopServiceName, RunningService>;
  /** How many instances of each service were started. */
  instances: Record<ShopServiceName, number>;
  close(): Promise<void>;
}

/** The services' env for free ports and this registry. */
export function freePortsEnv(registryUrl: string): Record<string, string> {
  return {
    GATEHOUSE_REGISTRY: registryUrl,
    USERS_PORT: "0",
    PRODUCTS_PORT: "0",
    ORDERS_PORT: "0",
    PAYMENTS_PORT: "0",
    INVENTORY_PORT: "0",
    USERS_JWKS_PORT: "0",
  };
}

/** The suite, over services that `start` starts with the registry at `registryUrl`. */
export function describeShopServices(
  title: string,
  start: (registryUrl: string) => Promise<StartedShop>,
): void {
  describe(title, { timeout: 90_000 }, () => {
    let gw: RunningGateway;
    let host: StartedShop;
    const exporter = new InMemorySpanExporter();
    let users: ReturnType<typeof clientOf>;
    let products: ReturnType<typeof clientOf>;
    let orders: ReturnType<typeof clientOf>;
    let payments: ReturnType<typeof clientOf>;
    let inventory: ReturnType<typeof clientOf>;
    let registryUrl: string;
    let alice: { id: string; token: string };
    let bob: { id: string };

    before(async () => {
      gw = await startGateway(testConfig({ gateway: { admin: { port: 0 }, registry: {} } }));
      registryUrl = `http://127.0.0.1:${gw.gateway.addresses().admin!.port}`;
      // The SDK's spans go to the provider the application registers (no OTLP env here).
      trace.setGlobalTracerProvider(
        new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
      );
      host = await start(registryUrl);
      const { services } = host;
      users = clientOf("shop.users.v1.UserService", services.users.url);
      products = clientOf("shop.products.v1.ProductService", services.products.url);
      orders = clientOf("shop.orders.v1.OrderService", services.orders.url);
      payments = clientOf("shop.payments.v1.PaymentService", services.payments.url);
      inventory = clientOf("shop.inventory.v1.InventoryService", services.inventory.url);
    });

    after(async () => {
      for (const client of [users, products, orders, payments, inventory]) client?.close();
      await host?.close();
      await gw?.stop();
      trace.disable();
    });

    it("registers each service in the registry as a gRPC instance, and answers gRPC health checks", async () => {
      const registry = registryClient(registryUrl);
      for (const name of ["users", "products", "orders", "payments", "inventory"] as const) {
        const { body } = await registry.get(`/registry/services/${name}`);
        assert.equal(body.instances.length, host.instances[name], name);
        assert.ok(body.instances.every((instance: Answer) => instance.protocol === "grpc"));
        assert.ok(
          body.instances.some((instance: Answer) => instance.port === host.services[name].port),
        );
        const health = clientOf("grpc.health.v1.Health", host.services[name].url);
        assert.equal((await health.Check({ service: "" })).status, "SERVING");
        health.close();
      }
    });

    it("registers a user, logs in with an RS256 token the JWKS verifies, and shows the user", async () => {
      const user = await users.Register({
        email: "Alice@Example.com",
        username: "alice",
        password: "password123",
        full_name: "Alice Liddell",
        phone: "1234567890",
      });
      assert.equal(user.email, "alice@example.com");
      assert.equal(user.full_name, "Alice Liddell");
      assert.ok(!Number.isNaN(Date.parse(user.created_at)));
      assert.equal(user.password, undefined);

      await rejectsWith(
        users.Register({
          email: "alice@example.com",
          username: "alice2",
          password: "password123",
          full_name: "A",
        }),
        grpc.status.ALREADY_EXISTS,
        /email/,
      );
      await rejectsWith(
        users.Register({
          email: "other@example.com",
          username: "alice",
          password: "password123",
          full_name: "A",
        }),
        grpc.status.ALREADY_EXISTS,
        /username/,
      );
      await assert.rejects(
        users.Register({ email: "not-an-email", username: "x", password: "short", full_name: "B" }),
        (error: grpc.ServiceError) => {
          assert.equal(error.code, grpc.status.INVALID_ARGUMENT);
          assert.match(error.details, /^email: /);
          assert.deepEqual(badFields(error), ["email", "username", "password"]);
          return true;
        },
      );

      await rejectsWith(
        users.Login({ email: "alice@example.com", password: "wrong-password" }),
        grpc.status.UNAUTHENTICATED,
        /wrong email or password/,
      );
      await rejectsWith(
        users.Login({ email: "nobody@example.com", password: "password123" }),
        grpc.status.UNAUTHENTICATED,
        /wrong email or password/,
      );
      await rejectsWith(
        users.Login({ email: "alice@example.com", password: "p".repeat(129) }),
        grpc.status.UNAUTHENTICATED,
        /wrong email or password/,
      );
      const login = await users.Login({ email: "alice@example.com", password: "password123" });
      assert.equal(login.user_id, user.id);
      const jwks = createRemoteJWKSet(new URL(host.services.users.jwksUrl!));
      const { payload } = await jwtVerify(login.token, jwks, { issuer: "shop-users" });
      assert.equal(payload.user_id, user.id);
      assert.equal(payload.sub, user.id);
      assert.equal(payload.exp! * 1000, Date.parse(login.expires_at));
      const header = decodeProtectedHeader(login.token);
      assert.equal(header.alg, "RS256");
      assert.ok(header.kid);

      const me = await users.GetMe({}, { "x-user-id": user.id });
      assert.equal(me.username, "alice");
      assert.equal(me.order_count, 0);
      await rejectsWith(users.GetMe({}), grpc.status.UNAUTHENTICATED, /signed-in/);
      alice = { id: user.id, token: login.token };
      bob = await users.Register({
        email: "bob@example.com",
        username: "bob",
        password: "password456",
        full_name: "Bob",
        phone: "",
      });
    });

    it("rotates the signing key: new tokens carry the new kid, the JWKS keeps the old one", async () => {
      const login = () => users.Login({ email: "bob@example.com", password: "password456" });
      const before = await login();
      const kid = await host.services.users.rotateSigningKey!();
      const after = await login();
      assert.equal(decodeProtectedHeader(after.token).kid, kid);
      assert.notEqual(decodeProtectedHeader(before.token).kid, kid);
      const jwks = createRemoteJWKSet(new URL(host.services.users.jwksUrl!));
      for (const { token } of [before, after]) {
        const { payload } = await jwtVerify(token, jwks, { issuer: "shop-users" });
        assert.equal(payload.user_id, bob.id);
      }
    });

    it("lists the seeded products with their stock from inventory, paged and by category", async () => {
      const first = await products.ListProducts({});
      assert.equal(first.products.length, 20);
      assert.equal(first.total, seedProducts.length);
      assert.ok(seedProducts.length >= 20);
      const all = await products.ListProducts({ page: 1, page_size: 100 });
      assert.ok(new Set(all.products.map((p: Answer) => p.category)).size >= 3);
      for (const product of all.products) {
        const seeded = seedProducts.find((p) => p.id === product.id)!;
        assert.equal(product.price, seeded.price_cents / 100);
        assert.ok(product.stock > 0, product.id);
      }
      const books = await products.ListProducts({ category: "books", page: 2, page_size: 4 });
      assert.equal(books.total, seedProducts.filter((p) => p.category === "books").length);
      assert.ok(books.products.every((p: Answer) => p.category === "books"));

      await inventory.SetStock({ product_id: "kitchen-004", quantity: 3 });
      assert.equal((await products.GetProduct({ id: "kitchen-004" })).stock, 3);
      await rejectsWith(products.GetProduct({ id: "nope" }), grpc.status.NOT_FOUND, /nope/);
      await rejectsWith(
        products.ListProducts({ page_size: 0 }),
        grpc.status.INVALID_ARGUMENT,
        /^page_size: /,
      );
      await rejectsWith(
        products.ListProducts({ page_size: 101 }),
        grpc.status.INVALID_ARGUMENT,
        /^page_size: /,
      );
      await rejectsWith(
        products.ListProducts({ page: 0 }),
        grpc.status.INVALID_ARGUMENT,
        /^page: /,
      );
    });

    async function stockOf(productId: string): Promise<number> {
      return (await inventory.GetStock({ product_ids: [productId] })).stock[productId];
    }

    it("places an order: reserved, charged, confirmed, and counted for the user from the event", async () => {
      const before = await stockOf("book-001");
      const placed = await orders.PlaceOrder(
        {
          items: [
            { product_id: "book-001", quantity: 2 },
            { product_id: "elec-005", quantity: 1 },
          ],
          payment_method: "credit_card",
        },
        { "x-user-id": alice.id },
      );
      assert.equal(placed.status, "confirmed");
      assert.equal(await stockOf("book-001"), before - 2);

      const order = await orders.GetOrder({ order_id: placed.order_id }, { "x-user-id": alice.id });
      assert.equal(order.user_id, alice.id);
      assert.equal(order.status, "confirmed");
      assert.equal(order.payment_method, "credit_card");
      assert.equal(order.failure_reason, undefined);
      assert.deepEqual(
        order.items.map((i: Answer) => [i.product_id, i.quantity, i.unit_price]),
        [
          ["book-001", 2, 44.99],
          ["elec-005", 1, 49],
        ],
      );
      assert.equal(order.total, 138.98);
      const payment = await payments.GetPayment({ payment_id: placed.order_id });
      assert.equal(payment.status, "charged");
      assert.equal(payment.amount_cents, 13898);
      // Charging again is the same payment; another user's payment id is not theirs to read.
      const again = { payment_id: placed.order_id, amount_cents: 13898, method: "credit_card" };
      assert.equal((await payments.Charge(again, { "x-user-id": alice.id })).status, "charged");
      await rejectsWith(
        payments.Charge(again, { "x-user-id": bob.id }),
        grpc.status.ALREADY_EXISTS,
        /payment_id/,
      );

      await rejectsWith(
        orders.GetOrder({ order_id: placed.order_id }, { "x-user-id": bob.id }),
        grpc.status.NOT_FOUND,
        /not found/,
      );
      assert.equal((await orders.ListOrders({}, { "x-user-id": bob.id })).orders.length, 0);
      const listed = await orders.ListOrders({}, { "x-user-id": alice.id });
      assert.ok(listed.orders.some((o: Answer) => o.order_id === placed.order_id));
      await until(
        async () => (await users.GetMe({}, { "x-user-id": alice.id })).order_count === 1,
        "the users service to count the confirmed order",
        10_000,
      );
    });

    it("continues the caller's trace through orders, products, inventory and payments", async () => {
      exporter.reset();
      const traceId = "0af7651916cd43dd8448eb211c80319c";
      const placed = await orders.PlaceOrder(
        { items: [{ product_id: "book-004", quantity: 1 }], payment_method: "credit_card" },
        { "x-user-id": alice.id, traceparent: `00-${traceId}-b7ad6b7169203331-01` },
      );
      assert.equal(placed.status, "confirmed");
      const servers = () =>
        exporter
          .getFinishedSpans()
          .filter((span) => span.spanContext().traceId === traceId && span.kind === 1)
          .map((span) => span.name);
      // Spans end as their answers are sent: the last may end a moment after the client has it.
      await until(
        () => servers().includes("shop.orders.v1.OrderService/PlaceOrder"),
        "spans",
        5_000,
      );
      for (const name of [
        "shop.orders.v1.OrderService/PlaceOrder",
        "shop.products.v1.ProductService/GetProduct",
        "shop.inventory.v1.InventoryService/Reserve",
        "shop.payments.v1.PaymentService/Charge",
        "shop.inventory.v1.InventoryService/Commit",
      ])
        assert.ok(servers().includes(name), `${name} in ${servers().join(", ")}`);
      const placeSpan = exporter
        .getFinishedSpans()
        .find((span) => span.name === "shop.orders.v1.OrderService/PlaceOrder")!;
      assert.equal(placeSpan.parentSpanContext?.spanId, "b7ad6b7169203331");
    });

    it("declines declined_card: the order is payment_failed and its stock comes back", async () => {
      const before = await stockOf("elec-001");
      const placed = await orders.PlaceOrder(
        { items: [{ product_id: "elec-001", quantity: 3 }], payment_method: "declined_card" },
        { "x-user-id": alice.id },
      );
      assert.equal(placed.status, "payment_failed");
      const order = await orders.GetOrder({ order_id: placed.order_id }, { "x-user-id": alice.id });
      assert.equal(order.failure_reason, "card declined");
      assert.equal(await stockOf("elec-001"), before);
      await rejectsWith(
        payments.Charge({
          payment_id: "direct-1",
          user_id: alice.id,
          amount_cents: 100,
          method: "declined_card",
        }),
        grpc.status.FAILED_PRECONDITION,
        /card declined/,
      );
    });

    it("answers out_of_stock when a product has too few, taking nothing", async () => {
      await inventory.SetStock({ product_id: "outdoor-002", quantity: 1 });
      const placed = await orders.PlaceOrder(
        {
          items: [
            { product_id: "outdoor-001", quantity: 1 },
            { product_id: "outdoor-002", quantity: 2 },
          ],
          payment_method: "credit_card",
        },
        { "x-user-id": alice.id },
      );
      assert.equal(placed.status, "out_of_stock");
      assert.equal(await stockOf("outdoor-002"), 1);
      assert.equal(
        await stockOf("outdoor-001"),
        seedProducts.find((p) => p.id === "outdoor-001")!.stock,
      );
      await rejectsWith(
        payments.GetPayment({ payment_id: placed.order_id }),
        grpc.status.NOT_FOUND,
        /not found/,
      );
    });

    it("refuses bad orders naming the field, and anonymous ones", async () => {
      const as = { "x-user-id": alice.id };
      await rejectsWith(
        orders.PlaceOrder({ items: [], payment_method: "credit_card" }, as),
        grpc.status.INVALID_ARGUMENT,
        /^items: /,
      );
      await rejectsWith(
        orders.PlaceOrder(
          { items: [{ product_id: "book-002", quantity: 0 }], payment_method: "credit_card" },
          as,
        ),
        grpc.status.INVALID_ARGUMENT,
        /^items\[0\]\.quantity: /,
      );
      await rejectsWith(
        orders.PlaceOrder(
          {
            items: [
              { product_id: "book-002", quantity: 1 },
              { product_id: "nope", quantity: 1 },
            ],
            payment_method: "credit_card",
          },
          as,
        ),
        grpc.status.INVALID_ARGUMENT,
        /^items\[1\]\.product_id: unknown product/,
      );
      await rejectsWith(
        orders.PlaceOrder(
          {
            items: Array.from({ length: 101 }, (_, i) => ({ product_id: `p${i}`, quantity: 1 })),
            payment_method: "credit_card",
          },
          as,
        ),
        grpc.status.INVALID_ARGUMENT,
        /^items: must list at most 100 items$/,
      );
      await rejectsWith(
        orders.PlaceOrder(
          { items: [{ product_id: "book-002", quantity: 1 }], payment_method: "x".repeat(65) },
          as,
        ),
        grpc.status.INVALID_ARGUMENT,
        /^payment_method: /,
      );
      await rejectsWith(
        orders.PlaceOrder({
          items: [{ product_id: "book-002", quantity: 1 }],
          payment_method: "credit_card",
        }),
        grpc.status.UNAUTHENTICATED,
        /signed-in/,
      );
    });

    it("never oversells: 20 orders at once for a product with 5 in stock confirm 5", async () => {
      await inventory.SetStock({ product_id: "kitchen-006", quantity: 5 });
      const placed = await Promise.all(
        Array.from({ length: 20 }, () =>
          orders.PlaceOrder(
            { items: [{ product_id: "kitchen-006", quantity: 1 }], payment_method: "credit_card" },
            { "x-user-id": bob.id },
          ),
        ),
      );
      const statuses = placed.map((p) => p.status).sort();
      assert.equal(statuses.filter((s) => s === "confirmed").length, 5);
      assert.equal(statuses.filter((s) => s === "out_of_stock").length, 15);
      assert.equal(await stockOf("kitchen-006"), 0);
    });

    it("makes one order of the requests that share an idempotency key", async () => {
      const before = await stockOf("book-003");
      const request = {
        items: [{ product_id: "book-003", quantity: 1 }],
        payment_method: "credit_card",
      };
      const metadata = { "x-user-id": alice.id, "idempotency-key": "checkout-42" };
      const placed = await Promise.all([1, 2, 3].map(() => orders.PlaceOrder(request, metadata)));
      const again = await orders.PlaceOrder(request, metadata);
      const ids = new Set([...placed, again].map((p) => p.order_id));
      assert.equal(ids.size, 1);
      assert.equal(again.status, "confirmed");
      assert.equal(await stockOf("book-003"), before - 1);
      // The key is the user's own: another user's same key is another order.
      const bobs = await orders.PlaceOrder(request, {
        "x-user-id": bob.id,
        "idempotency-key": "checkout-42",
      });
      assert.notEqual(bobs.order_id, again.order_id);
    });
  });
}
