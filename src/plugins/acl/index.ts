/**
 * @module plugins/acl
 * Access by consumer group: after an authentication plugin has named the consumer, a
 * consumer in a `deny` group, or in none of the `allow` groups, is refused.
 */
import { z } from "zod";
import { definePlugin } from "../../pipeline/plugin.ts";

const groups = z.array(z.string().min(1)).min(1);

const schema = z
  .strictObject({
    allow: groups.optional().describe("Groups let through; any other consumer is refused."),
    deny: groups.optional().describe("Groups refused; wins over allow."),
  })
  .refine((config) => config.allow !== undefined || config.deny !== undefined, {
    message: "set allow, deny or both",
  });

export const aclPlugin = definePlugin({
  name: "acl",
  schema,
  // After authentication (1000), which names the consumer.
  priority: 950,
  create(config, scope) {
    const allow = config.allow && new Set(config.allow);
    const deny = config.deny && new Set(config.deny);
    return {
      access(ctx) {
        const consumer = ctx.consumer;
        if (!consumer) {
          scope.telemetry.authFailure(ctx, "missing");
          ctx.fail("GATEHOUSE_UNAUTHORIZED", "This route needs an authenticated consumer");
          return;
        }
        const denied = deny !== undefined && consumer.groups.some((group) => deny.has(group));
        const allowed = allow === undefined || consumer.groups.some((group) => allow.has(group));
        if (denied || !allowed) {
          scope.telemetry.authFailure(ctx, "forbidden");
          ctx.fail("GATEHOUSE_FORBIDDEN", `Consumer "${consumer.name}" may not use this route`);
        }
      },
    };
  },
});
