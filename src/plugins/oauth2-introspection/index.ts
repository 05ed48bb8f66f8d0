/**
 * @module plugins/oauth2-introspection
 * Opaque bearer tokens checked with the authorization server (RFC 7662): the token from
 * `Authorization: Bearer` is POSTed to the introspection endpoint, and an active answer
 * lets the request through with its claims (for `authorize`, upstream headers, and the
 * consumer its `consumerClaim` names). Answers are cached; see ./introspector.ts.
 */
import type { ConsumerIdentity, RequestContext } from "../../pipeline/context.ts";
import { definePlugin } from "../../pipeline/plugin.ts";
import {
  acceptWithoutConsumer,
  anonymousConsumer,
  deferMissing,
  identify,
  refuse,
} from "../auth/authentication.ts";
import { claimHeaderValue, introspectionClaimsKey, scopesOf } from "../auth/token-claims.ts";
import { type Introspection, Introspector } from "./introspector.ts";
import { type IntrospectionConfig, introspectionSchema } from "./schema.ts";

const missingChallenge = 'Bearer realm="gatehouse"';
const invalidChallenge = 'Bearer realm="gatehouse", error="invalid_token"';
const bearer = /^bearer +(\S*) *$/i;

/** The Authorization header value that authenticates the gateway to the endpoint. */
function endpointAuthorization(config: IntrospectionConfig): string | undefined {
  if (config.authorization !== undefined) return config.authorization;
  if (config.clientId === undefined) return undefined;
  // RFC 6749 §2.3.1: both parts form-encoded before they are joined and base64-encoded.
  const form = (text: string) => new URLSearchParams([["", text]]).toString().slice(1);
  const pair = `${form(config.clientId)}:${form(config.clientSecret!)}`;
  return `Basic ${Buffer.from(pair).toString("base64")}`;
}

export const oauth2IntrospectionPlugin = definePlugin({
  name: "oauth2-introspection",
  schema: introspectionSchema,
  priority: 1000,
  authenticates: true,
  identityHeaders: (config) => Object.values(config.claimsToHeaders),
  create(config, scope) {
    const introspector = new Introspector({
      url: new URL(config.introspectionUrl),
      authorization: endpointAuthorization(config),
      tokenTypeHint: config.tokenTypeHint,
      timeoutMs: config.timeout,
      ttlMs: config.cache.ttl,
      negativeTtlMs: config.cache.negativeTtl,
      maxEntries: config.cache.maxEntries,
    });
    const consumers = new Map<string, ConsumerIdentity>(
      scope.consumers.map((consumer) => [
        consumer.name,
        { name: consumer.name, groups: consumer.groups },
      ]),
    );
    const claimHeaders = Object.entries(config.claimsToHeaders).map(
      ([claim, header]) => [claim, header.toLowerCase()] as const,
    );
    const missing = {
      challenge: missingChallenge,
      message: "No bearer token was sent",
      anonymous: anonymousConsumer(config.anonymous, scope.consumers),
    };

    const { telemetry } = scope;
    const decide = (ctx: RequestContext, outcome: Introspection) => {
      switch (outcome.kind) {
        case "unavailable":
          telemetry.authFailure(ctx, "unavailable");
          ctx.fail(
            "GATEHOUSE_AUTH_UNAVAILABLE",
            `The token could not be checked: ${outcome.reason}`,
          );
          return;
        case "inactive":
          telemetry.authFailure(ctx, "invalid");
          refuse(ctx, invalidChallenge, "The token is not active", "GATEHOUSE_INVALID_TOKEN");
          return;
        case "expired":
          telemetry.authFailure(ctx, "expired");
          refuse(ctx, invalidChallenge, outcome.reason, "GATEHOUSE_TOKEN_EXPIRED");
          return;
      }
      const claims = outcome.claims;
      if (config.requiredScopes.length > 0) {
        const granted = scopesOf(claims);
        const lacking = config.requiredScopes.filter((needed) => !granted.has(needed));
        if (lacking.length > 0) {
          telemetry.authFailure(ctx, "forbidden");
          ctx.fail("GATEHOUSE_FORBIDDEN", `The token lacks the scope ${lacking.join(" ")}`, {
            "www-authenticate": `Bearer realm="gatehouse", error="insufficient_scope", scope="${config.requiredScopes.join(" ")}"`,
          });
          return;
        }
      }
      if (config.consumerClaim !== undefined) {
        const name = claims[config.consumerClaim];
        const consumer = typeof name === "string" ? consumers.get(name) : undefined;
        if (consumer === undefined) {
          telemetry.authFailure(ctx, "claims");
          refuse(
            ctx,
            invalidChallenge,
            `The token's ${config.consumerClaim} names no known consumer`,
            "GATEHOUSE_TOKEN_CLAIMS_REJECTED",
          );
          return;
        }
        identify(ctx, consumer);
      } else {
        acceptWithoutConsumer(ctx);
      }
      ctx.set(introspectionClaimsKey, claims);
      for (const [claim, header] of claimHeaders) {
        // A claim the token lacks removes the header: a client must not set it itself.
        ctx.setUpstreamHeader(header, claimHeaderValue(claims[claim]));
      }
      if (config.hideCredentials) ctx.setUpstreamHeader("authorization", undefined);
    };

    return {
      access(ctx) {
        const header = ctx.req.headers.authorization;
        if (header === undefined || !/^bearer(?: |$)/i.test(header)) {
          deferMissing(ctx, missing);
          return;
        }
        const token = bearer.exec(header)?.[1];
        if (!token) {
          telemetry.authFailure(ctx, "invalid");
          refuse(
            ctx,
            invalidChallenge,
            "The bearer token is empty or malformed",
            "GATEHOUSE_INVALID_TOKEN",
          );
          return;
        }
        const outcome = introspector.introspect(token);
        if (outcome instanceof Promise) return outcome.then((answer) => decide(ctx, answer));
        decide(ctx, outcome);
      },
      close: () => introspector.close(),
    };
  },
});
