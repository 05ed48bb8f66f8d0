/**
 * @module examples/shop/services/payments
 * The payments service: charges and refunds, idempotent by payment id (the order id for an
 * order's payment), so that a retried Charge, or a saga step run again after a crash,
 * never charges twice. Failure injection, for the demo and its tests:
 * - `method: "declined_card"` is always declined (FAILED_PRECONDITION "card declined");
 * - PAYMENTS_FAIL_RATE (0..1): that share of new charges fails UNAVAILABLE before doing
 *   anything (callers retry it on another instance);
 * - PAYMENTS_DELAY (`250ms`, `2s`): every charge waits that long first.
 */
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { Queryable } from "gatehouse-gateway/sdk";
import { callerIdOrNone } from "./shared/caller.ts";
import {
  alreadyExists,
  badField,
  failedPrecondition,
  notFound,
  unavailable,
  Violations,
} from "./shared/errors.ts";
import type { UnaryMethod } from "./shared/grpc-server.ts";
import { durationMs, rateFrom, type ShopEnv } from "./shared/service-env.ts";
import { openService, type RunningService, serveService } from "./shared/service-runtime.ts";

/** The payment method that is always declined. */
export const declinedMethod = "declined_card";

interface PaymentRow {
  payment_id: string;
  user_id: string;
  amount_cents: string;
  method: string;
  status: string;
  created_at: Date;
}

const schema = [
  "create schema if not exists shop_payments",
  `create table if not exists shop_payments.payments (
     payment_id text primary key,
     user_id text not null,
     amount_cents bigint not null,
     method text not null,
     status text not null,
     created_at timestamptz not null default now())`,
];

function view(row: PaymentRow) {
  return {
    payment_id: row.payment_id,
    user_id: row.user_id,
    amount_cents: Number(row.amount_cents),
    method: row.method,
    status: row.status,
    created_at: row.created_at.toISOString(),
  };
}

async function paymentOf(db: Queryable, id: string): Promise<PaymentRow | undefined> {
  const { rows } = await db.query<PaymentRow>(
    "select * from shop_payments.payments where payment_id = $1",
    [id],
  );
  return rows[0];
}

/** A charge as asked: who pays, how much, how. */
interface ChargeTerms {
  userId: string;
  amountCents: number;
  method: string;
}

/**
 * The answer to a charge whose payment id is stored: that payment when it is this charge
 * asked again (same payer, amount and method), else ALREADY_EXISTS saying nothing of it.
 * Comparing the amount matters: a caller who learnt an order's id before its charge could
 * otherwise pay it first with one cent, and the order's own charge would find it paid.
 */
function answerFor(row: PaymentRow, terms: ChargeTerms) {
  const same =
    row.user_id === terms.userId &&
    Number(row.amount_cents) === terms.amountCents &&
    row.method === terms.method;
  if (!same) throw alreadyExists("payment_id is already used");
  if (row.status === "declined") throw failedPrecondition("card declined");
  return view(row);
}

/** Starts the payments service. */
export async function startPayments(env: ShopEnv): Promise<RunningService> {
  const failRate = rateFrom(env, "PAYMENTS_FAIL_RATE");
  const delayMs = durationMs(env, "PAYMENTS_DELAY");
  const parts = await openService("payments", env, schema);
  const { db } = parts;

  const Charge: UnaryMethod = async (
    request: { payment_id: string; user_id: string; amount_cents: number; method: string },
    call,
  ) => {
    // Through the gateway the payer is the signed-in caller, whatever the body says.
    const userId = callerIdOrNone(call) ?? request.user_id;
    const paymentId = request.payment_id || randomUUID();
    const bad = new Violations();
    if (!userId) bad.add("user_id", "is required");
    if (!(Number.isSafeInteger(request.amount_cents) && request.amount_cents >= 1))
      bad.add("amount_cents", "must be a whole number of cents, at least 1");
    if (!request.method) bad.add("method", "is required");
    bad.throwIfAny();
    const terms = { userId: userId!, amountCents: request.amount_cents, method: request.method };

    const known = await paymentOf(db, paymentId);
    if (known) return answerFor(known, terms);
    if (delayMs > 0) await sleep(delayMs);
    if (failRate > 0 && Math.random() < failRate)
      throw unavailable("payment processor unavailable (PAYMENTS_FAIL_RATE)");
    const declined = request.method === declinedMethod;
    const row = await db.transaction(async (tx) => {
      const inserted = await tx.query<PaymentRow>(
        `insert into shop_payments.payments (payment_id, user_id, amount_cents, method, status)
         values ($1, $2, $3, $4, $5) on conflict do nothing returning *`,
        [
          paymentId,
          userId,
          request.amount_cents,
          request.method,
          declined ? "declined" : "charged",
        ],
      );
      // Another call with this id got there first: its answer is this one's.
      if (inserted.rowCount === 0) return (await paymentOf(tx, paymentId))!;
      const payment = inserted.rows[0]!;
      if (!declined) {
        await tx.publish("payments.charged", view(payment), {
          id: `payments.charged.${paymentId}`,
        });
      }
      return payment;
    });
    return answerFor(row, terms);
  };

  const methods: Record<string, UnaryMethod> = {
    Charge,

    async Refund(request: { payment_id: string }) {
      const id = request.payment_id;
      if (!id) throw badField("payment_id", "is required");
      const row = await db.transaction(async (tx) => {
        // Refunding a payment never made leaves a mark, so that a late Charge with this id
        // (a timed-out saga step finishing after its compensation) charges nothing.
        const marked = await tx.query<PaymentRow>(
          `insert into shop_payments.payments (payment_id, user_id, amount_cents, method, status)
           values ($1, '', 0, '', 'refunded') on conflict do nothing returning *`,
          [id],
        );
        if (marked.rowCount === 1) return marked.rows[0]!;
        const refunded = await tx.query<PaymentRow>(
          `update shop_payments.payments set status = 'refunded'
           where payment_id = $1 and status = 'charged' returning *`,
          [id],
        );
        if (refunded.rowCount === 0) return (await paymentOf(tx, id))!;
        await tx.publish("payments.refunded", view(refunded.rows[0]!), {
          id: `payments.refunded.${id}`,
        });
        return refunded.rows[0]!;
      });
      return view(row);
    },

    async GetPayment(request: { payment_id: string }) {
      const row = await paymentOf(db, request.payment_id);
      if (!row) throw notFound(`payment ${request.payment_id} not found`);
      return view(row);
    },
  };
  return serveService(parts, methods);
}
