/**
 * @module plugins/auth/authentication
 * What the authentication plugins share, so that several on one route are any-of: each
 * one that finds credentials of its kind checks them (wrong ones are a 401 at once, so the
 * outcome never depends on which plugin runs first; the first valid one names the
 * consumer); one that finds none only notes its challenge. The gate that runs
 * right after them answers 401 with every noted challenge, or names the anonymous
 * consumer, when none of them identified the client.
 */

import { z } from "zod";
import type { ConsumerConfig } from "../../config/schema/index.ts";
import type { ErrorCode } from "../../errors.ts";
import type { ChainEntry } from "../../pipeline/chain.ts";
import type { ConsumerIdentity, RequestContext } from "../../pipeline/context.ts";
import { createStateKey } from "../../pipeline/request-state.ts";
import type { PluginTelemetry } from "../../pipeline/telemetry.ts";

/** `anonymous`, the same option on every authentication plugin. */
export const anonymousOption = z
  .string()
  .min(1)
  .optional()
  .describe(
    "Consumer to use when no credentials (of this or any other authentication plugin) are sent, instead of answering 401.",
  );

/** `hideCredentials`, on every authentication plugin; `what` names what is removed. */
export const hideCredentialsOption = (what: string) =>
  z.boolean().default(true).describe(`Remove ${what} from the upstream request.`);

/** What an authentication plugin says when a request carries none of its credentials. */
export interface MissingCredentials {
  /** The `WWW-Authenticate` challenge, e.g. `Basic realm="gatehouse"`. */
  challenge: string;
  /** The 401's message when this plugin is the only one on the route. */
  message: string;
  /** The consumer to go on as, if this plugin is configured with `anonymous`. */
  anonymous?: ConsumerIdentity | undefined;
}

interface Pending {
  challenges: string[];
  messages: string[];
  anonymous: ConsumerIdentity | undefined;
  /** Valid credentials that name no configured consumer were sent. */
  accepted: boolean;
}

/** What the authentication plugins of one request noted for the gate after them. */
const pendingKey = createStateKey<Pending>("authentication");

/**
 * Names the consumer and tells the upstream who it is. When an earlier authentication
 * plugin already named one (the client sent two valid kinds of credentials), it stays.
 */
export function identify(ctx: RequestContext, consumer: ConsumerIdentity): void {
  if (ctx.consumer !== undefined) return;
  ctx.consumer = consumer;
  // Each identity header is set or removed, so none the client sent passes as the gateway's.
  ctx.setUpstreamHeader("x-consumer-name", consumer.name);
  ctx.setUpstreamHeader(
    "x-consumer-groups",
    consumer.groups.length > 0 ? consumer.groups.join(", ") : undefined,
  );
  ctx.setUpstreamHeader("x-anonymous-consumer", undefined);
}

/** Removes identity headers the client may have sent itself. */
function forgetClaimedIdentity(ctx: RequestContext): void {
  ctx.setUpstreamHeader("x-consumer-name", undefined);
  ctx.setUpstreamHeader("x-consumer-groups", undefined);
  ctx.setUpstreamHeader("x-anonymous-consumer", undefined);
}

/**
 * Valid credentials that name no configured consumer (a token when the plugin has no
 * `consumerClaim`): the request is authenticated, and `ctx.consumer` stays unset.
 */
export function acceptWithoutConsumer(ctx: RequestContext): void {
  pendingOf(ctx).accepted = true;
  if (ctx.consumer === undefined) forgetClaimedIdentity(ctx);
}

/** Credentials of this plugin's kind were sent and are wrong: refused at once, whatever follows. */
export function refuse(
  ctx: RequestContext,
  challenge: string,
  message: string,
  code: ErrorCode = "GATEHOUSE_UNAUTHORIZED",
): void {
  ctx.fail(code, message, { "www-authenticate": challenge });
}

/** No credentials of this plugin's kind: the gate after the authentication plugins decides. */
export function deferMissing(ctx: RequestContext, missing: MissingCredentials): void {
  const pending = pendingOf(ctx);
  pending.challenges.push(missing.challenge);
  pending.messages.push(missing.message);
  pending.anonymous ??= missing.anonymous;
}

function pendingOf(ctx: RequestContext): Pending {
  let pending = ctx.get(pendingKey);
  if (pending === undefined) {
    pending = { challenges: [], messages: [], anonymous: undefined, accepted: false };
    ctx.set(pendingKey, pending);
  }
  return pending;
}

/** The identity of the consumer an `anonymous` option names (groups empty if not configured). */
export function anonymousConsumer(
  name: string | undefined,
  consumers: readonly ConsumerConfig[],
): ConsumerIdentity | undefined {
  if (name === undefined) return undefined;
  const consumer = consumers.find((candidate) => candidate.name === name);
  return { name, groups: consumer?.groups ?? [] };
}

/**
 * Runs after every authentication plugin (priority 1000) and before anything that needs
 * the consumer (acl at 950): if none identified one, the anonymous consumer of the first
 * plugin that has one, else 401 with every plugin's challenge, counted as `missing`.
 */
export const authenticationGate = (telemetry: PluginTelemetry): ChainEntry => ({
  name: "authentication",
  priority: 999.5,
  hooks: {
    access(ctx) {
      const pending = ctx.get(pendingKey);
      if (pending === undefined || pending.accepted || ctx.consumer !== undefined) return;
      if (pending.anonymous !== undefined) {
        ctx.consumer = pending.anonymous;
        forgetClaimedIdentity(ctx);
        ctx.setUpstreamHeader("x-anonymous-consumer", "true");
        return;
      }
      const message =
        pending.messages.length === 1
          ? pending.messages[0]
          : `No credentials were sent (${pending.messages.join("; ")})`;
      telemetry.authFailure(ctx, "missing");
      ctx.fail("GATEHOUSE_UNAUTHORIZED", message, {
        "www-authenticate": pending.challenges.join(", "),
      });
    },
  },
});
