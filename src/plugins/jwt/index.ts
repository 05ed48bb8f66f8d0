/**
 * @module plugins/jwt
 * JSON Web Token authentication: a bearer token is verified with the configured secret,
 * public key or JWKS (the algorithms are the config's, never the token's choice), its
 * time and claims are checked, and the consumer its `consumerClaim` names is the request's
 * consumer. The verified claims are left in `ctx.get(jwtClaimsKey)` for later plugins.
 *
 * A token verified once is remembered (bounded LRU, keyed by the exact token string)
 * until its key set changes; each reuse still checks exp/nbf/maxAge against the clock,
 * so only the signature check and the parsing are saved.
 */
import { type JWTPayload, type JWTVerifyOptions, jwtVerify } from "jose";
import { LRUCache } from "lru-cache";
import type { Logger } from "../../observability/logger.ts";
import type { ConsumerIdentity, RequestContext } from "../../pipeline/context.ts";
import { definePlugin } from "../../pipeline/plugin.ts";
import { authFailureReason, type PluginTelemetry } from "../../pipeline/telemetry.ts";
import {
  acceptWithoutConsumer,
  anonymousConsumer,
  deferMissing,
  identify,
  refuse,
} from "../auth/authentication.ts";
import { claimHeaderValue, jwtClaimsKey } from "../auth/token-claims.ts";
import { type Refusal, refusalFor, timeRefusal, tooLarge, unknownConsumer } from "./claims.ts";
import { type FoundToken, hideToken, tokenReader } from "./credentials.ts";
import { JwksKeySource } from "./jwks.ts";
import { type KeySource, staticKeySource, systemWallClock, type WallClock } from "./keys.ts";
import { type JwtConfig, jwtSchema } from "./schema.ts";

/** A token that verified, as remembered between requests. */
interface Verified {
  payload: JWTPayload;
  consumer: ConsumerIdentity | undefined;
  /** The key source's generation it was verified under. */
  generation: number;
}

export interface JwtPluginOptions {
  /** The wall clock tokens are judged by (default Date.now); tests move their own. */
  clock?: WallClock;
  /** The plugin's name (default `jwt`); a test registers a second one with its own clock. */
  name?: string;
}

const missingChallenge = 'Bearer realm="gatehouse"';
const invalidChallenge = 'Bearer realm="gatehouse", error="invalid_token"';
/** The remembered tokens of one plugin instance take at most this many characters of token. */
const cacheCharacters = 4 * 1024 * 1024;

/** Builds the jwt plugin with its own clock; `jwtPlugin` is the one with the system clock. */
export function createJwtPlugin(options: JwtPluginOptions = {}) {
  const clock = options.clock ?? systemWallClock;
  return definePlugin({
    name: options.name ?? "jwt",
    schema: jwtSchema,
    priority: 1000,
    authenticates: true,
    identityHeaders: (config) => Object.values(config.claimsToHeaders),
    create(config, scope) {
      const keys = keySource(config, clock, scope.log);
      const refuseWith = (ctx: RequestContext, refusal: Refusal) =>
        refuseToken(ctx, refusal, scope.telemetry);
      const getKey = keys.keyFor.bind(keys);
      const leewaySeconds = config.leeway / 1000;
      const maxAgeSeconds = config.maxAge === undefined ? undefined : config.maxAge / 1000;
      const verifyOptions: JWTVerifyOptions = {
        algorithms: config.algorithms,
        issuer: config.issuer,
        audience: config.audience,
        clockTolerance: leewaySeconds,
        maxTokenAge: maxAgeSeconds,
        requiredClaims: config.requiredClaims,
      };
      const places = { header: config.header, query: config.query, cookie: config.cookie };
      const readToken = tokenReader(places);
      const consumers = new Map<string, ConsumerIdentity>(
        scope.consumers.map((c) => [c.name, { name: c.name, groups: c.groups }]),
      );
      const claimHeaders = Object.entries(config.claimsToHeaders);
      const missing = {
        challenge: missingChallenge,
        message: "No bearer token was sent",
        anonymous: anonymousConsumer(config.anonymous, scope.consumers),
      };
      const remembered =
        config.tokenCache > 0
          ? new LRUCache<string, Verified>({
              max: config.tokenCache,
              maxSize: cacheCharacters,
              sizeCalculation: (_value, token) => token.length,
            })
          : undefined;

      const accept = (ctx: RequestContext, found: FoundToken, verified: Verified) => {
        ctx.set(jwtClaimsKey, verified.payload);
        if (verified.consumer) identify(ctx, verified.consumer);
        else acceptWithoutConsumer(ctx);
        for (const [claim, header] of claimHeaders) {
          ctx.setUpstreamHeader(header, claimHeaderValue(verified.payload[claim]));
        }
        if (config.hideCredentials) hideToken(ctx, found, places);
      };

      const verify = async (ctx: RequestContext, found: FoundToken): Promise<void> => {
        const generation = keys.generation;
        let payload: JWTPayload;
        try {
          ({ payload } = await jwtVerify(found.token, getKey, {
            ...verifyOptions,
            currentDate: new Date(clock.now()),
          }));
        } catch (error) {
          refuseWith(ctx, refusalFor(error));
          return;
        }
        let consumer: ConsumerIdentity | undefined;
        if (config.consumerClaim !== undefined) {
          const name = payload[config.consumerClaim];
          consumer = typeof name === "string" ? consumers.get(name) : undefined;
          if (consumer === undefined) {
            refuseWith(ctx, unknownConsumer);
            return;
          }
        }
        const verified = { payload, consumer, generation };
        // Verified under keys that changed meanwhile: correct now, but not worth keeping.
        if (remembered && keys.generation === generation) remembered.set(found.token, verified);
        accept(ctx, found, verified);
      };

      return {
        access(ctx) {
          const found = readToken(ctx);
          if (found === undefined) {
            deferMissing(ctx, missing);
            return;
          }
          if (found.token.length > config.maxTokenSize) {
            refuseWith(ctx, tooLarge);
            return;
          }
          const known = remembered?.get(found.token);
          keys.refreshIfStale?.();
          if (known !== undefined && known.generation === keys.generation) {
            // Signature and claims were checked already; time moves, so it is checked again.
            const late = timeRefusal(known.payload, clock.now(), leewaySeconds, maxAgeSeconds);
            if (late === undefined) {
              accept(ctx, found, known);
              return;
            }
            remembered!.delete(found.token);
            refuseWith(ctx, late);
            return;
          }
          return verify(ctx, found);
        },
      };
    },
  });
}

/** The jwt plugin, judging tokens by the system clock. */
export const jwtPlugin = createJwtPlugin();

function keySource(config: JwtConfig, clock: WallClock, log: Logger): KeySource {
  if (config.jwksUri === undefined) return staticKeySource(config, config.algorithms);
  const source = new JwksKeySource({
    url: config.jwksUri,
    algorithms: config.algorithms,
    ...config.jwks,
    clock,
    log,
  });
  source.start();
  return source;
}

/** Answers a token that was not accepted, and counts why. */
function refuseToken(ctx: RequestContext, refusal: Refusal, telemetry: PluginTelemetry): void {
  telemetry.authFailure(ctx, authFailureReason(refusal.code));
  if (refusal.code === "GATEHOUSE_AUTH_UNAVAILABLE") ctx.fail(refusal.code, refusal.message);
  else refuse(ctx, invalidChallenge, refusal.message, refusal.code);
}
