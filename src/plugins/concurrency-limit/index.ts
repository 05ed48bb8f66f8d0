/**
 * @module plugins/concurrency-limit
 * At most `limit` requests in flight per key (client IP, consumer, route or a header);
 * one more is refused at once with 429 rather than queued. A request counts from its
 * access phase until its response has finished or the client went away. With several
 * worker threads the count is the node's: the supervisor keeps it (stores/node-limits.ts,
 * given in the plugin's scope).
 */
import { z } from "zod";
import type { RequestContext } from "../../pipeline/context.ts";
import { definePlugin } from "../../pipeline/plugin.ts";
import { createStateKey } from "../../pipeline/request-state.ts";

const schema = z.strictObject({
  limit: z.number().int().min(1).describe("Requests in flight allowed per key."),
  by: z
    .union([z.enum(["ip", "consumer", "route"]), z.strictObject({ header: z.string().min(1) })])
    .default("ip")
    .describe("What a key is: the client IP, the consumer, the route, or a header's value."),
});

/** The key whose slot the request holds, given back when its response has finished. */
const heldKey = createStateKey<string>("concurrency-limit");

export const concurrencyLimitPlugin = definePlugin({
  name: "concurrency-limit",
  schema,
  // After authentication (1000) and acl (950), so `by: consumer` knows the consumer.
  priority: 910,
  create(config, { telemetry, level, name, nodeLimits: node }) {
    const inFlight = new Map<string, number>();
    // The same in every worker for the same config, so they share one count.
    const nodeScope = `concurrency:${level}:${name}:${JSON.stringify([config.limit, config.by])}`;
    const header = typeof config.by === "object" ? config.by.header.toLowerCase() : undefined;
    const keyOf = (ctx: RequestContext): string => {
      if (header) return String(ctx.headers[header] ?? "");
      if (config.by === "consumer") return ctx.consumer?.name ?? `ip:${ctx.clientAddress}`;
      if (config.by === "route") return ctx.route;
      return ctx.clientAddress;
    };
    const refuse = (ctx: RequestContext) => {
      telemetry.limitDecision(ctx, false);
      ctx.fail("GATEHOUSE_CONCURRENCY_LIMITED", undefined, { "retry-after": "1" });
    };
    if (node) {
      return {
        access: (ctx) => {
          const key = keyOf(ctx);
          return node.acquire(nodeScope, config.limit, key).then((admitted) => {
            if (!admitted) return refuse(ctx);
            // The client went away while the node decided: no response will finish to
            // give the slot back (onLog hangs off that), so give it back now.
            if (ctx.req.socket.destroyed) return node.release(nodeScope, key);
            telemetry.limitDecision(ctx, true);
            ctx.set(heldKey, key);
          });
        },
        onLog(ctx) {
          const key = ctx.get(heldKey);
          if (key !== undefined) node.release(nodeScope, key);
        },
      };
    }
    return {
      access(ctx) {
        const key = keyOf(ctx);
        const count = inFlight.get(key) ?? 0;
        if (count >= config.limit) return refuse(ctx);
        telemetry.limitDecision(ctx, true);
        inFlight.set(key, count + 1);
        ctx.set(heldKey, key);
      },
      onLog(ctx) {
        const key = ctx.get(heldKey);
        if (key === undefined) return;
        const count = (inFlight.get(key) ?? 1) - 1;
        if (count <= 0) inFlight.delete(key);
        else inFlight.set(key, count);
      },
    };
  },
});
