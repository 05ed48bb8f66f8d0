/**
 * @module examples/shop/services/orders
 * The orders service: places orders and shows the caller's own. Placing one writes the
 * order (`pending`, with `orders.created` through the outbox), then runs the `place-order`
 * saga (orders/place-order-saga.ts): reserve the stock, charge the payment, confirm. The
 * call answers once the saga has ended, with the order's status: `confirmed`,
 * `payment_failed` or `out_of_stock` (`cancelled` when another step failed). An
 * `Idempotency-Key` (metadata `idempotency-key`) makes a retried request the same order.
 */
import { randomUUID } from "node:crypto";
import type { Metadata } from "@grpc/grpc-js";
import { GrpcCallError, type Queryable } from "gatehouse-gateway/sdk";
import { definePlaceOrder, orderSchema } from "./orders/place-order-saga.ts";
import { callerId } from "./shared/caller.ts";
import { badField, notFound, Violations } from "./shared/errors.ts";
import { metadataValue } from "./shared/grpc-server.ts";
import { methodOf, serviceNames } from "./shared/protos.ts";
import { durationMs, type ShopEnv } from "./shared/service-env.ts";
import { openService, type RunningService, serveService } from "./shared/service-runtime.ts";

interface OrderRow {
  id: string;
  user_id: string;
  status: string;
  payment_method: string;
  total_cents: string;
  failure_reason: string | null;
  created_at: Date;
}

interface ItemRow {
  order_id: string;
  product_id: string;
  quantity: number;
  unit_price_cents: number;
}

const GetProduct = methodOf<{ id: string }, { id: string; price: number }>(
  serviceNames.products,
  "GetProduct",
);

/** The metadata (HTTP header through the gateway) that makes a retried order the same one. */
export const idempotencyMetadata = "idempotency-key";

/**
 * The most lines an order may have: each product is looked up (in parallel), so an
 * unbounded list would be one request making thousands of calls.
 */
export const maxOrderLines = 100;

async function ordersView(db: Queryable, orders: OrderRow[]) {
  const { rows: items } = await db.query<ItemRow>(
    "select * from shop_orders.order_items where order_id = any($1) order by product_id",
    [orders.map((order) => order.id)],
  );
  return orders.map((order) => ({
    order_id: order.id,
    user_id: order.user_id,
    items: items
      .filter((item) => item.order_id === order.id)
      .map((item) => ({
        product_id: item.product_id,
        quantity: item.quantity,
        unit_price: item.unit_price_cents / 100,
      })),
    total: Number(order.total_cents) / 100,
    status: order.status,
    payment_method: order.payment_method,
    created_at: order.created_at.toISOString(),
    ...(order.failure_reason !== null && { failure_reason: order.failure_reason }),
  }));
}

/** Starts the orders service. */
export async function startOrders(env: ShopEnv): Promise<RunningService> {
  const parts = await openService("orders", env, orderSchema);
  const { db } = parts;
  const products = parts.client("products", { timeout: "5s" });
  const placeOrder = definePlaceOrder({
    db,
    inventory: parts.client("inventory", { timeout: "5s" }),
    // A charge is idempotent by payment id and one that ends UNAVAILABLE charged nothing:
    // retrying it on another instance is always safe, so a failing payments instance
    // (PAYMENTS_FAIL_RATE) costs a retry, not an order, even in a burst of orders.
    // ORDERS_PAYMENTS_TIMEOUT shortens the wait for a charge (a test's lost answer).
    payments: parts.client("payments", {
      timeout: durationMs(env, "ORDERS_PAYMENTS_TIMEOUT") || "15s",
      retries: { attempts: 3, budget: { ratio: 1, minRetries: 3 } },
    }),
  });
  parts.onClose(() => placeOrder.close());

  /** Each item's unit price in cents; INVALID_ARGUMENT naming the items that are wrong. */
  async function pricesOf(items: { product_id: string; quantity: number }[]) {
    const bad = new Violations();
    if (items.length === 0) bad.add("items", "must list at least one item");
    if (items.length > maxOrderLines) {
      bad.add("items", `must list at most ${maxOrderLines} items`);
      bad.throwIfAny();
    }
    items.forEach((item, i) => {
      if (!item.product_id) bad.add(`items[${i}].product_id`, "is required");
      if (!(item.quantity >= 1)) bad.add(`items[${i}].quantity`, "must be at least 1");
    });
    bad.throwIfAny();
    const ids = [...new Set(items.map((item) => item.product_id))];
    const prices = new Map<string, number>();
    await Promise.all(
      ids.map(async (id) => {
        try {
          prices.set(id, Math.round((await products.unary(GetProduct, { id })).price * 100));
        } catch (error) {
          if (!(error instanceof GrpcCallError && error.grpcStatus === 5)) throw error;
        }
      }),
    );
    items.forEach((item, i) => {
      if (!prices.has(item.product_id))
        bad.add(`items[${i}].product_id`, `unknown product "${item.product_id}"`);
    });
    bad.throwIfAny();
    return prices;
  }

  async function orderIdByKey(userId: string, key: string): Promise<string | undefined> {
    const { rows } = await db.query<{ id: string }>(
      "select id from shop_orders.orders where user_id = $1 and idempotency_key = $2",
      [userId, key],
    );
    return rows[0]?.id;
  }

  /** Writes the pending order and its `orders.created` event; the existing one for a known key. */
  async function createOrder(
    userId: string,
    key: string | undefined,
    items: { product_id: string; quantity: number }[],
    paymentMethod: string,
  ): Promise<string> {
    const known = key && (await orderIdByKey(userId, key));
    if (known) return known;
    const prices = await pricesOf(items);
    const totalCents = items.reduce(
      (sum, item) => sum + prices.get(item.product_id)! * item.quantity,
      0,
    );
    const id = randomUUID();
    const created = await db.transaction(async (tx) => {
      const inserted = await tx.query(
        `insert into shop_orders.orders (id, user_id, status, payment_method, total_cents, idempotency_key)
         values ($1, $2, 'pending', $3, $4, $5) on conflict do nothing`,
        [id, userId, paymentMethod, totalCents, key ?? null],
      );
      if (inserted.rowCount === 0) return false;
      for (const item of items) {
        await tx.query(
          `insert into shop_orders.order_items (order_id, product_id, quantity, unit_price_cents)
           values ($1, $2, $3, $4)
           on conflict (order_id, product_id) do update set quantity = order_items.quantity + excluded.quantity`,
          [id, item.product_id, item.quantity, prices.get(item.product_id)],
        );
      }
      await tx.publish(
        "orders.created",
        { order_id: id, user_id: userId, total_cents: totalCents, items },
        { id: `orders.created.${id}` },
      );
      return true;
    });
    // The same key at the same moment from another request: that request's order.
    return created ? id : (await orderIdByKey(userId, key!))!;
  }

  async function orderOf(userId: string, orderId: string): Promise<OrderRow> {
    const { rows } = await db.query<OrderRow>(
      "select * from shop_orders.orders where id = $1 and user_id = $2",
      [orderId, userId],
    );
    // Another user's order is as unknown as one that does not exist.
    if (!rows[0]) throw notFound(`order ${orderId} not found`);
    return rows[0];
  }

  const methods = {
    async PlaceOrder(
      request: { items: { product_id: string; quantity: number }[]; payment_method: string },
      call: { metadata: Metadata },
    ) {
      const userId = callerId(call);
      const key = metadataValue(call.metadata, idempotencyMetadata) || undefined;
      if (key !== undefined && key.length > 255)
        throw badField("Idempotency-Key", "must be at most 255 characters");
      if (!request.payment_method || request.payment_method.length > 64)
        throw badField("payment_method", "must be 1-64 characters");
      const orderId = await createOrder(userId, key, request.items, request.payment_method);
      await placeOrder.run(
        { order_id: orderId },
        { id: orderId, idempotencyKey: key === undefined ? orderId : `${userId}:${key}` },
      );
      const order = await orderOf(userId, orderId);
      return { order_id: order.id, status: order.status };
    },

    async GetOrder(request: { order_id: string }, call: { metadata: Metadata }) {
      const order = await orderOf(callerId(call), request.order_id);
      return (await ordersView(db, [order]))[0];
    },

    async ListOrders(_request: unknown, call: { metadata: Metadata }) {
      const { rows } = await db.query<OrderRow>(
        "select * from shop_orders.orders where user_id = $1 order by created_at desc, id limit 100",
        [callerId(call)],
      );
      return { orders: await ordersView(db, rows) };
    },
  };
  return serveService(parts, methods);
}
