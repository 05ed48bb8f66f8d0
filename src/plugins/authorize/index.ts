/**
 * @module plugins/authorize
 * A small policy engine run after authentication: rules tried in order, the first that
 * applies to the request (by method and path) decides whether its consumer, groups,
 * token scopes and claims may go on. Rules are compiled once, when the plugin is created.
 */
import { definePlugin } from "../../pipeline/plugin.ts";
import { scopesOf, tokenClaims } from "../auth/token-claims.ts";
import { authorizeSchema, compileRule, type Subject } from "./rules.ts";

export const authorizePlugin = definePlugin({
  name: "authorize",
  schema: authorizeSchema,
  // After authentication (1000) and acl (950).
  priority: 940,
  create(config, scope) {
    const rules = config.rules.map(compileRule);
    const allowByDefault = config.default === "allow";
    const { telemetry } = scope;

    return {
      access(ctx) {
        const method = ctx.method;
        const rule = rules.find((candidate) => candidate.applies(method, ctx.path));
        if (rule === undefined) {
          if (!allowByDefault) {
            telemetry.authFailure(ctx, "forbidden");
            ctx.fail("GATEHOUSE_FORBIDDEN", "No rule allows this request");
          }
          return;
        }
        const claims = tokenClaims(ctx);
        const subject: Subject = { consumer: ctx.consumer, claims, scopes: scopesOf(claims) };
        const refusal = rule.decide(subject);
        if (refusal === undefined) return;
        telemetry.authFailure(ctx, refusal === "anonymous" ? "missing" : "forbidden");
        switch (refusal) {
          case "anonymous":
            ctx.fail("GATEHOUSE_UNAUTHORIZED", "This request needs an authenticated client");
            return;
          case "scope":
            ctx.fail(
              "GATEHOUSE_FORBIDDEN",
              `This request needs the scope ${rule.scopes.join(" ")}`,
              {
                "www-authenticate": `Bearer error="insufficient_scope", scope="${rule.scopes.join(" ")}"`,
              },
            );
            return;
          case "denied":
            ctx.fail("GATEHOUSE_FORBIDDEN", "A rule refuses this request");
            return;
          default:
            ctx.fail("GATEHOUSE_FORBIDDEN", "The client does not meet the rule for this request");
        }
      },
    };
  },
});
