// An order as a saga: reserve the item, charge the card, confirm. When a step fails, the
// steps before it are undone in reverse order. Runs on PGlite in ./data/orders, or on
// PostgreSQL when DATABASE_URL is set.
import { type StepContext, saga, store } from "gatehouse-gateway/sdk";

const db = await store.open(process.env.DATABASE_URL, { name: "orders" });
await db.query(`create table if not exists stock
  (item text primary key, qty integer not null check (qty >= 0))`);
await db.query(
  "create table if not exists reservations (key text primary key, item text not null)",
);
await db.query(`create table if not exists payments
  (key text primary key, amount integer not null, refunded boolean not null default false)`);
await db.query("insert into stock values ('lamp', 1), ('desk', 1) on conflict do nothing");

interface Order {
  orderId: string;
  item: string;
  amount: number;
  card: string;
}

async function reserveStock(order: Order, ctx: StepContext) {
  await db.transaction(async (tx) => {
    // Keyed by ctx.idempotencyKey: when this step runs again, it reserves nothing more.
    const { rowCount } = await tx.query(
      "insert into reservations (key, item) values ($1, $2) on conflict do nothing",
      [ctx.idempotencyKey, order.item],
    );
    if (rowCount === 0) return;
    const taken = await tx.query("update stock set qty = qty - 1 where item = $1 and qty > 0", [
      order.item,
    ]);
    if (taken.rowCount === 0) throw new Error(`${order.item} is out of stock`);
  });
  return { item: order.item };
}

async function releaseStock(order: Order, ctx: StepContext) {
  await db.transaction(async (tx) => {
    const { rowCount } = await tx.query("delete from reservations where key = $1", [
      ctx.idempotencyKey,
    ]);
    if (rowCount === 1)
      await tx.query("update stock set qty = qty + 1 where item = $1", [order.item]);
  });
}

async function chargePayment(order: Order, ctx: StepContext) {
  if (order.card === "4000-0002") throw new Error("card declined");
  await db.query("insert into payments (key, amount) values ($1, $2) on conflict do nothing", [
    ctx.idempotencyKey,
    order.amount,
  ]);
  return { paid: order.amount };
}

async function refundPayment(_order: Order, ctx: StepContext) {
  await db.query("update payments set refunded = true where key = $1", [ctx.idempotencyKey]);
}

async function confirmOrder(order: Order) {
  return { confirmed: order.orderId };
}

const placeOrder = saga<Order>("place-order", { db })
  .step("reserve", reserveStock, releaseStock)
  .step("charge", chargePayment, refundPayment)
  .step("confirm", confirmOrder);

const lamp = { orderId: "o-1", item: "lamp", amount: 30, card: "4242-4242" };
const first = await placeOrder.run(lamp, { idempotencyKey: "o-1" });
console.log(`o-1 ${first.status}: paid ${first.output?.charge.paid}`);
const retried = await placeOrder.run(lamp, { idempotencyKey: "o-1" });
console.log(`o-1 again: ${retried.status}, the same saga: ${retried.id === first.id}`);

const second = await placeOrder.run({ ...lamp, orderId: "o-2" }, { idempotencyKey: "o-2" });
console.log(`o-2 ${second.status}: ${second.error?.message} (at ${second.error?.step})`);

const desk = { orderId: "o-3", item: "desk", amount: 120, card: "4000-0002" };
const third = await placeOrder.run(desk, { idempotencyKey: "o-3" });
console.log(`o-3 ${third.status}: ${third.error?.message} (at ${third.error?.step})`);
const log = await placeOrder.status(third.id);
console.log(`o-3 steps: ${log?.steps.map((step) => `${step.name} ${step.state}`).join(", ")}`);

const stock = await db.query<{ item: string; qty: number }>("select * from stock order by item");
console.log(`in stock: ${stock.rows.map((row) => `${row.item} ${row.qty}`).join(", ")}`);
await placeOrder.close();
await db.close();
