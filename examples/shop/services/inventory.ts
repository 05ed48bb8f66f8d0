/**
 * @module examples/shop/services/inventory
 * The inventory service: units available per product, and reservations that hold units
 * while an order is placed. Stock never goes negative, however many orders come at once:
 * each decrement is one conditional UPDATE (`… where available >= $qty`), and a reservation
 * takes all its items or none (one transaction). Reserve, Release and Commit are idempotent
 * by reservation id, as the orders saga needs: a step run again changes nothing more.
 */
import type { Transaction } from "gatehouse-gateway/sdk";
import { seedStock } from "../seed.ts";
import { badField, failedPrecondition, Violations } from "./shared/errors.ts";
import type { ShopEnv } from "./shared/service-env.ts";
import { openService, type RunningService, serveService } from "./shared/service-runtime.ts";

interface StockItem {
  product_id: string;
  quantity: number;
}

const schema = [
  "create schema if not exists shop_inventory",
  `create table if not exists shop_inventory.stock (
     product_id text primary key,
     available integer not null check (available >= 0))`,
  `create table if not exists shop_inventory.reservations (
     id text primary key,
     status text not null,
     created_at timestamptz not null default now())`,
  `create table if not exists shop_inventory.reservation_items (
     reservation_id text not null references shop_inventory.reservations (id),
     product_id text not null,
     quantity integer not null check (quantity > 0),
     primary key (reservation_id, product_id))`,
];

/** Starts the inventory service (its stock seeded on first start). */
export async function startInventory(env: ShopEnv): Promise<RunningService> {
  const parts = await openService("inventory", env, schema);
  const { db } = parts;
  await db.transaction(async (tx) => {
    for (const { product_id, stock } of seedStock) {
      await tx.query(
        "insert into shop_inventory.stock (product_id, available) values ($1, $2) on conflict do nothing",
        [product_id, stock],
      );
    }
  });

  /** The reservation's items, the same product twice made one line. */
  function itemsOf(items: StockItem[]): StockItem[] {
    const merged = new Map<string, number>();
    const bad = new Violations();
    if (items.length === 0) bad.add("items", "at least one item is needed");
    items.forEach((item, i) => {
      if (!item.product_id) bad.add(`items[${i}].product_id`, "is required");
      if (!(item.quantity >= 1)) bad.add(`items[${i}].quantity`, "must be at least 1");
      merged.set(item.product_id, (merged.get(item.product_id) ?? 0) + item.quantity);
    });
    bad.throwIfAny();
    // Sorted, so two reservations lock their rows in the same order (no deadlock).
    return [...merged]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([product_id, quantity]) => ({ product_id, quantity }));
  }

  async function statusOf(tx: Transaction, id: string): Promise<string | undefined> {
    const { rows } = await tx.query<{ status: string }>(
      "select status from shop_inventory.reservations where id = $1",
      [id],
    );
    return rows[0]?.status;
  }

  const methods = {
    async GetStock(request: { product_ids: string[] }) {
      const { rows } = await (request.product_ids.length === 0
        ? db.query<{ product_id: string; available: number }>(
            "select product_id, available from shop_inventory.stock",
          )
        : db.query<{ product_id: string; available: number }>(
            "select product_id, available from shop_inventory.stock where product_id = any($1)",
            [request.product_ids],
          ));
      return { stock: Object.fromEntries(rows.map((row) => [row.product_id, row.available])) };
    },

    async Reserve(request: { reservation_id: string; items: StockItem[] }) {
      const id = request.reservation_id;
      if (!id) throw badField("reservation_id", "is required");
      const items = itemsOf(request.items);
      const status = await db.transaction(async (tx) => {
        const inserted = await tx.query(
          "insert into shop_inventory.reservations (id, status) values ($1, 'reserved') on conflict do nothing",
          [id],
        );
        // Reserved (or released, or committed) before: nothing more to take.
        if (inserted.rowCount === 0) return (await statusOf(tx, id))!;
        for (const item of items) {
          const taken = await tx.query(
            `update shop_inventory.stock set available = available - $2
             where product_id = $1 and available >= $2`,
            [item.product_id, item.quantity],
          );
          // Thrown inside the transaction: the units taken so far are given back with it.
          if (taken.rowCount === 0) throw failedPrecondition(`out of stock: ${item.product_id}`);
          await tx.query(
            "insert into shop_inventory.reservation_items (reservation_id, product_id, quantity) values ($1, $2, $3)",
            [id, item.product_id, item.quantity],
          );
        }
        return "reserved";
      });
      return { reservation_id: id, status };
    },

    async Release(request: { reservation_id: string }) {
      const id = request.reservation_id;
      if (!id) throw badField("reservation_id", "is required");
      const status = await db.transaction(async (tx) => {
        // Releasing a reservation never made leaves a mark, so that a late Reserve with
        // this id (a timed-out step finishing after its compensation) takes nothing.
        const marked = await tx.query(
          "insert into shop_inventory.reservations (id, status) values ($1, 'released') on conflict do nothing",
          [id],
        );
        if (marked.rowCount === 1) return "released";
        const released = await tx.query(
          "update shop_inventory.reservations set status = 'released' where id = $1 and status = 'reserved'",
          [id],
        );
        if (released.rowCount === 0) return (await statusOf(tx, id))!;
        await tx.query(
          `update shop_inventory.stock s set available = s.available + i.quantity
           from shop_inventory.reservation_items i
           where i.reservation_id = $1 and s.product_id = i.product_id`,
          [id],
        );
        return "released";
      });
      return { reservation_id: id, status };
    },

    async Commit(request: { reservation_id: string }) {
      const id = request.reservation_id;
      if (!id) throw badField("reservation_id", "is required");
      const status = await db.transaction(async (tx) => {
        await tx.query(
          "update shop_inventory.reservations set status = 'committed' where id = $1 and status = 'reserved'",
          [id],
        );
        return statusOf(tx, id);
      });
      if (status !== "committed")
        throw failedPrecondition(`reservation ${id} is ${status ?? "unknown"}, not reserved`);
      return { reservation_id: id, status };
    },

    async SetStock(request: StockItem) {
      if (!request.product_id) throw badField("product_id", "is required");
      if (!(request.quantity >= 0)) throw badField("quantity", "must be 0 or more");
      await db.query(
        `insert into shop_inventory.stock (product_id, available) values ($1, $2)
         on conflict (product_id) do update set available = excluded.available`,
        [request.product_id, request.quantity],
      );
      return { product_id: request.product_id, quantity: request.quantity };
    },
  };
  return serveService(parts, methods);
}
