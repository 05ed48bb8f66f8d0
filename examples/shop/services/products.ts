/**
 * @module examples/shop/services/products
 * The products service: the catalogue, paged and filtered by category. Each product's
 * `stock` is asked of the inventory service (one GetStock call per page, over the SDK's
 * gRPC client), so it is what inventory holds at that moment. Prices are kept in integer
 * cents and shown in currency units.
 */
import type { GrpcServiceClient } from "gatehouse-gateway/sdk";
import { seedProducts } from "../seed.ts";
import { notFound, Violations } from "./shared/errors.ts";
import { methodOf, serviceNames } from "./shared/protos.ts";
import type { ShopEnv } from "./shared/service-env.ts";
import { openService, type RunningService, serveService } from "./shared/service-runtime.ts";

interface ProductRow {
  id: string;
  name: string;
  description: string;
  category: string;
  price_cents: number;
}

const schema = [
  "create schema if not exists shop_products",
  `create table if not exists shop_products.products (
     id text primary key,
     name text not null,
     description text not null default '',
     category text not null,
     price_cents integer not null check (price_cents >= 0))`,
  "create index if not exists products_category on shop_products.products (category, id)",
];

const GetStock = methodOf<{ product_ids: string[] }, { stock: Record<string, number> }>(
  serviceNames.inventory,
  "GetStock",
);

/** Page defaults and bounds of ListProducts. */
export const pageLimits = { defaultPage: 1, defaultPageSize: 20, maxPageSize: 100 };

/** The product as the API shows it, with its stock. */
function view(row: ProductRow, stock: Record<string, number>) {
  return {
    id: row.id,
    name: row.name,
    description: row.description,
    category: row.category,
    price: row.price_cents / 100,
    stock: stock[row.id] ?? 0,
  };
}

async function stockOf(inventory: GrpcServiceClient, ids: string[]) {
  if (ids.length === 0) return {};
  return (await inventory.unary(GetStock, { product_ids: ids })).stock;
}

/** Starts the products service (the catalogue seeded on first start). */
export async function startProducts(env: ShopEnv): Promise<RunningService> {
  const parts = await openService("products", env, schema);
  const { db } = parts;
  await db.transaction(async (tx) => {
    for (const p of seedProducts) {
      await tx.query(
        `insert into shop_products.products (id, name, description, category, price_cents)
         values ($1, $2, $3, $4, $5) on conflict do nothing`,
        [p.id, p.name, p.description, p.category, p.price_cents],
      );
    }
  });
  const inventory = parts.client("inventory", { timeout: "5s" });

  const methods = {
    async ListProducts(request: { page?: number; page_size?: number; category: string }) {
      const page = request.page ?? pageLimits.defaultPage;
      const pageSize = request.page_size ?? pageLimits.defaultPageSize;
      const bad = new Violations();
      if (page < 1) bad.add("page", "must be at least 1");
      if (pageSize < 1 || pageSize > pageLimits.maxPageSize)
        bad.add("page_size", `must be between 1 and ${pageLimits.maxPageSize}`);
      bad.throwIfAny();
      const category = request.category || null;
      const where = "where ($1::text is null or category = $1)";
      const [{ rows }, counted] = await Promise.all([
        db.query<ProductRow>(
          `select * from shop_products.products ${where} order by id limit $2 offset $3`,
          [category, pageSize, (page - 1) * pageSize],
        ),
        db.query<{ total: string }>(
          `select count(*) as total from shop_products.products ${where}`,
          [category],
        ),
      ]);
      const stock = await stockOf(
        inventory,
        rows.map((row) => row.id),
      );
      return {
        products: rows.map((row) => view(row, stock)),
        total: Number(counted.rows[0]!.total),
      };
    },

    async GetProduct(request: { id: string }) {
      const { rows } = await db.query<ProductRow>(
        "select * from shop_products.products where id = $1",
        [request.id],
      );
      const row = rows[0];
      if (!row) throw notFound(`product "${request.id}" not found`);
      return view(row, await stockOf(inventory, [row.id]));
    },
  };
  return serveService(parts, methods);
}
