/**
 * @module examples/shop/services/orders/place-order-saga
 * The `place-order` saga, defined once per orders process:
 *
 *   open (compensation: mark the order failed) → reserve (inventory Reserve / Release)
 *   → charge (payments Charge / Refund) → confirm (inventory Commit, order confirmed)
 *
 * Every call is keyed by the order id (the reservation id, the payment id), so a step run
 * again after a crash changes nothing more. The order's final status is written by the
 * saga itself (confirm, or the first step's compensation), so a saga another process
 * resumes after a crash still ends the order, and the events go through the outbox with it.
 *
 * A Reserve or Charge that got no answer (a deadline, a dropped connection, every retry
 * failed) may still have taken the stock or the money. The saga compensates only the steps
 * that ended, so such a step ends all the same, saying its answer was lost, and the next
 * step stops the order: the saga then releases or refunds it, retrying until that works.
 */
import {
  GrpcCallError,
  type GrpcServiceClient,
  type SagaDefinition,
  type Store,
  saga,
} from "gatehouse-gateway/sdk";
import { methodOf, serviceNames } from "../shared/protos.ts";

/** The SQL of the orders service's tables. */
export const orderSchema = [
  "create schema if not exists shop_orders",
  `create table if not exists shop_orders.orders (
     id text primary key,
     user_id text not null,
     status text not null,
     payment_method text not null,
     total_cents bigint not null,
     idempotency_key text,
     failure_reason text,
     created_at timestamptz not null default clock_timestamp(),
     unique (user_id, idempotency_key))`,
  "create index if not exists orders_by_user on shop_orders.orders (user_id, created_at)",
  `create table if not exists shop_orders.order_items (
     order_id text not null references shop_orders.orders (id),
     product_id text not null,
     quantity integer not null check (quantity > 0),
     unit_price_cents integer not null,
     primary key (order_id, product_id))`,
];

/** What the saga is run with: the order is read from the store. */
export interface PlaceOrderInput {
  order_id: string;
}

interface StockItem {
  product_id: string;
  quantity: number;
}
interface Answer {
  status: string;
}

const inventoryMethod = (name: string) =>
  methodOf<Record<string, unknown>, Answer>(serviceNames.inventory, name);
const paymentsMethod = (name: string) =>
  methodOf<Record<string, unknown>, Answer>(serviceNames.payments, name);
const Reserve = inventoryMethod("Reserve");
const Release = inventoryMethod("Release");
const Commit = inventoryMethod("Commit");
const Charge = paymentsMethod("Charge");
const Refund = paymentsMethod("Refund");

/** An error whose `code` the saga log keeps: which final status the order gets. */
function failure(code: "out_of_stock" | "payment_failed", message: string): Error {
  return Object.assign(new Error(message), { code });
}

const FAILED_PRECONDITION = 9;

/** The statuses with which a service refuses a call, having changed nothing. */
const refusals = new Set([3, 5, 6, 7, FAILED_PRECONDITION, 11, 12, 16]);

/**
 * Whether a failed call surely changed nothing: it was never sent (no instance), or the
 * service refused it. Any other failure (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, a
 * dropped connection) may hide a call that did its work, on this try or an earlier one.
 */
function changedNothing(error: GrpcCallError): boolean {
  if (error.tries === 0) return true;
  return error.code === "GATEHOUSE_UPSTREAM_ERROR_STATUS" && refusals.has(error.grpcStatus);
}

/** What the reserve and charge steps end with: done, or the call's answer lost. */
interface CallOutcome {
  done: boolean;
  /** Why the answer is unknown (the call's error), when it is. */
  lostAnswer?: string;
}

const lost = (error: GrpcCallError): CallOutcome => ({ done: false, lostAnswer: error.message });

/** What a failed step's code makes of the order. */
function statusFor(code: string | undefined): string {
  return code === "out_of_stock" || code === "payment_failed" ? code : "cancelled";
}

/** Defines the saga on the orders store with the clients it calls. */
export function definePlaceOrder(options: {
  db: Store;
  inventory: GrpcServiceClient;
  payments: GrpcServiceClient;
}): SagaDefinition<PlaceOrderInput, Record<string, unknown>> {
  const { db, inventory, payments } = options;

  async function orderOf(orderId: string) {
    const [{ rows: orders }, { rows: items }] = await Promise.all([
      db.query<{ user_id: string; total_cents: string; payment_method: string }>(
        "select user_id, total_cents, payment_method from shop_orders.orders where id = $1",
        [orderId],
      ),
      db.query<StockItem>(
        "select product_id, quantity from shop_orders.order_items where order_id = $1",
        [orderId],
      ),
    ]);
    const order = orders[0];
    if (!order) throw new Error(`order ${orderId} is not in the store`);
    return { ...order, items };
  }

  const definition: SagaDefinition<
    PlaceOrderInput,
    Record<string, unknown>
  > = saga<PlaceOrderInput>("place-order", {
    db,
    stepTimeout: "20s",
  })
    .step(
      "open",
      async () => ({}),
      // Runs last when any later step failed: the order ends with that step's failure.
      async ({ order_id }, ctx) => {
        const log = await definition.status(ctx.sagaId);
        const failed = log?.steps.filter((step) => step.name !== "open" && step.error).at(-1);
        const status = statusFor(failed?.error?.code);
        const reason = failed?.error?.message ?? "the order could not be placed";
        await db.transaction(async (tx) => {
          const { rows } = await tx.query<{ user_id: string }>(
            `update shop_orders.orders set status = $2, failure_reason = $3
             where id = $1 and status = 'pending' returning user_id`,
            [order_id, status, reason],
          );
          if (rows[0]) {
            await tx.publish(
              "orders.failed",
              { order_id, user_id: rows[0].user_id, status, reason },
              { id: `orders.failed.${order_id}` },
            );
          }
        });
      },
    )
    .step(
      "reserve",
      async ({ order_id }): Promise<CallOutcome> => {
        const { items } = await orderOf(order_id);
        let answer: Answer;
        try {
          answer = await inventory.unary(Reserve, { reservation_id: order_id, items });
        } catch (error) {
          if (!(error instanceof GrpcCallError)) throw error;
          if (!changedNothing(error)) return lost(error);
          if (error.grpcStatus === FAILED_PRECONDITION)
            throw failure("out_of_stock", error.grpcMessage || "out of stock");
          throw error;
        }
        if (answer.status !== "reserved")
          throw failure("out_of_stock", `the reservation is ${answer.status}`);
        return { done: true };
      },
      async ({ order_id }) => {
        await inventory.unary(Release, { reservation_id: order_id });
      },
    )
    .step(
      "charge",
      async ({ order_id }, ctx): Promise<CallOutcome> => {
        const reserved = ctx.outputs.reserve;
        if (!reserved.done)
          throw new Error(`inventory did not answer the reservation: ${reserved.lostAnswer}`);
        const order = await orderOf(order_id);
        let answer: Answer;
        try {
          answer = await payments.unary(Charge, {
            payment_id: order_id,
            user_id: order.user_id,
            amount_cents: Number(order.total_cents),
            method: order.payment_method,
          });
        } catch (error) {
          if (!(error instanceof GrpcCallError)) throw error;
          if (!changedNothing(error)) return lost(error);
          throw failure("payment_failed", error.grpcMessage || error.message);
        }
        if (answer.status !== "charged")
          throw failure("payment_failed", `the payment is ${answer.status}`);
        return { done: true };
      },
      async ({ order_id }) => {
        await payments.unary(Refund, { payment_id: order_id });
      },
    )
    .step("confirm", async ({ order_id }, ctx) => {
      const charged = ctx.outputs.charge;
      if (!charged.done)
        throw failure(
          "payment_failed",
          `payments did not answer the charge: ${charged.lostAnswer}`,
        );
      await inventory.unary(Commit, { reservation_id: order_id });
      await db.transaction(async (tx) => {
        const { rows } = await tx.query<{ user_id: string; total_cents: string }>(
          `update shop_orders.orders set status = 'confirmed', failure_reason = null
           where id = $1 and status = 'pending' returning user_id, total_cents`,
          [order_id],
        );
        if (rows[0]) {
          await tx.publish(
            "orders.confirmed",
            { order_id, user_id: rows[0].user_id, total_cents: Number(rows[0].total_cents) },
            { id: `orders.confirmed.${order_id}` },
          );
        }
      });
      return { confirmed: true };
    });
  return definition;
}
