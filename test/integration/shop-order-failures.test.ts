// The place-order saga when a call's answer is lost: the shop's five services hosted as
// `npm run shop` hosts them (PGlite, the embedded event transport), with charges slower
// (PAYMENTS_DELAY) than orders waits for them (ORDERS_PAYMENTS_TIMEOUT). Orders gives up on
// a charge that is still going on; the order must end without the money taken. And a
// payment id already used is no repeat when the amount differs: refused, not answered paid.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { SpanKind, trace } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { type ShopHost, startShopHost } from "../../examples/shop/host.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { clientOf, rejectsWith } from "../helpers/shop-grpc.ts";
import { until } from "../helpers/until.ts";
import { freePortsEnv } from "./shop-services.case.ts";

describe("the shop's orders when an answer is lost", { timeout: 90_000 }, () => {
  let gw: RunningGateway;
  let host: ShopHost;
  let dataDir: string;
  const exporter = new InMemorySpanExporter();
  let orders: ReturnType<typeof clientOf>;
  let payments: ReturnType<typeof clientOf>;
  let inventory: ReturnType<typeof clientOf>;
  const buyer = { "x-user-id": "buyer-1" };

  before(async () => {
    gw = await startGateway(testConfig({ gateway: { admin: { port: 0 }, registry: {} } }));
    const registryUrl = `http://127.0.0.1:${gw.gateway.addresses().admin!.port}`;
    // The payments server's spans tell when a charge orders gave up on has ended.
    trace.setGlobalTracerProvider(
      new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }),
    );
    dataDir = await mkdtemp(join(tmpdir(), "shop-order-failures-"));
    host = await startShopHost({
      ...freePortsEnv(registryUrl),
      SHOP_DATA_DIR: dataDir,
      PAYMENTS_DELAY: "1500ms",
      ORDERS_PAYMENTS_TIMEOUT: "300ms",
    });
    orders = clientOf("shop.orders.v1.OrderService", host.services.orders.url);
    payments = clientOf("shop.payments.v1.PaymentService", host.services.payments.url);
    inventory = clientOf("shop.inventory.v1.InventoryService", host.services.inventory.url);
  });

  after(async () => {
    for (const client of [orders, payments, inventory]) client?.close();
    await host?.close();
    await gw?.stop();
    trace.disable();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  const stockOf = async (id: string): Promise<number> =>
    (await inventory.GetStock({ product_ids: [id] })).stock[id];

  it("ends an order whose charge got no answer payment_failed, its stock back and nothing charged", async () => {
    const before = await stockOf("book-002");
    const placed = await orders.PlaceOrder(
      { items: [{ product_id: "book-002", quantity: 1 }], payment_method: "credit_card" },
      buyer,
    );
    assert.equal(placed.status, "payment_failed");
    const order = await orders.GetOrder({ order_id: placed.order_id }, buyer);
    assert.match(order.failure_reason, /payments did not answer the charge/);
    assert.equal(await stockOf("book-002"), before);
    // The charge orders gave up on is still waiting out PAYMENTS_DELAY; once it has ended,
    // the payment must still be the refund, not a charge.
    const chargesEnded = () =>
      exporter
        .getFinishedSpans()
        .filter(
          (span) =>
            span.name === "shop.payments.v1.PaymentService/Charge" && span.kind === SpanKind.SERVER,
        ).length;
    await until(() => chargesEnded() >= 1, "the late charge to end", 10_000);
    const payment = await payments.GetPayment({ payment_id: placed.order_id });
    assert.equal(payment.status, "refunded");
    assert.equal(payment.amount_cents, 0);
  });

  it("refuses a charge whose payment id was used for another amount", async () => {
    const first = { payment_id: "pay-1", amount_cents: 1, method: "credit_card" };
    assert.equal((await payments.Charge(first, buyer)).status, "charged");
    assert.equal((await payments.Charge(first, buyer)).status, "charged");
    await rejectsWith(
      payments.Charge({ ...first, amount_cents: 4_499 }, buyer),
      grpc.status.ALREADY_EXISTS,
      /payment_id is already used/,
    );
    await rejectsWith(
      payments.Charge({ ...first, method: "declined_card" }, buyer),
      grpc.status.ALREADY_EXISTS,
      /payment_id is already used/,
    );
  });
});
