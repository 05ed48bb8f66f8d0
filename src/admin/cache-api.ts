/**
 * @module admin/cache-api
 * `DELETE /cache?url=…`, `?prefix=…` or `?tag=…`: removes cached responses of the cache
 * plugin, by exact URL (`scheme://host/path?query`, as clients asked for it), by URL
 * prefix, or by a tag the upstream gave them (`Cache-Tag`). Entries in Redis are gone for
 * every node sharing it; entries in memory only on the node (and thread) that is asked.
 */
import { GatehouseError } from "../errors.ts";
import type { AdminContext, AdminRoute } from "./context.ts";
import { sendJson } from "./http.ts";

/** What to purge: exactly one of the three. */
export type CachePurge = { url: string } | { prefix: string } | { tag: string };

/** How many responses a purge removed, and the kinds of store it reached. */
export interface CachePurgeResult {
  purged: number;
  stores: ("memory" | "redis")[];
}

export type PurgeCache = (criteria: CachePurge) => Promise<CachePurgeResult>;

const selectors = ["url", "prefix", "tag"] as const;

export function cacheRoutes(): AdminRoute[] {
  return [{ method: "DELETE", path: "/cache", handle: purge }];
}

async function purge(ctx: AdminContext): Promise<void> {
  const given = selectors.filter((name) => ctx.query.has(name));
  const name = given[0];
  const value = name === undefined ? "" : ctx.query.get(name)!;
  if (given.length !== 1 || value === "") {
    throw new GatehouseError(
      "GATEHOUSE_ADMIN_BAD_REQUEST",
      "give exactly one of url, prefix or tag, not empty: DELETE /cache?url=https://host/path",
    );
  }
  const criteria = { [name!]: value } as CachePurge;
  const result = (await ctx.purgeCache?.(criteria)) ?? { purged: 0, stores: [] };
  sendJson(ctx.res, 200, result);
}
