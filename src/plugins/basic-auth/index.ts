/**
 * @module plugins/basic-auth
 * HTTP Basic authentication against the consumers' `credentials.basic`. Password hashes
 * are slow on purpose, so a verified user name and password is remembered for `cacheTtl`
 * (keyed by a SHA-256 of the pair, never the pair itself) and a keep-alive client pays
 * for one hash, not one per request; a failure is never remembered. An unknown user name
 * costs a real verification too, so response times do not tell which names exist.
 */
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import { z } from "zod";
import { duration } from "../../config/schema/fields.ts";
import { processSecrets } from "../../config/secret-values.ts";
import type { ConsumerIdentity, RequestContext } from "../../pipeline/context.ts";
import { definePlugin } from "../../pipeline/plugin.ts";
import {
  anonymousConsumer,
  anonymousOption,
  deferMissing,
  hideCredentialsOption,
  identify,
  refuse,
} from "../auth/authentication.ts";
import { type PasswordVerifier, parsePassword } from "./password-hash.ts";

const schema = z.strictObject({
  realm: z
    .string()
    .regex(/^[^"\\]+$/, "a realm cannot contain quotes or backslashes")
    .default("gatehouse")
    .describe("The realm named in `WWW-Authenticate`."),
  hideCredentials: hideCredentialsOption("the Authorization header"),
  anonymous: anonymousOption,
  cacheTtl: duration("5m").describe(
    "How long a verified user name and password is remembered; 0 verifies every request.",
  ),
});

interface User {
  consumer: ConsumerIdentity;
  verify: PasswordVerifier;
}

const cacheKey = (username: string, password: string) =>
  createHash("sha256").update(`${username}:${password}`).digest("base64");

export const basicAuthPlugin = definePlugin({
  name: "basic-auth",
  schema,
  priority: 1000,
  authenticates: true,
  create(config, scope) {
    const users = new Map<string, User>();
    const plain = new Set<string>();
    for (const consumer of scope.consumers) {
      const identity = { name: consumer.name, groups: consumer.groups };
      for (const { username, password } of consumer.credentials.basic) {
        if (users.has(username)) {
          scope.log.warn(
            { username, consumer: consumer.name, takenBy: users.get(username)!.consumer.name },
            "basic-auth: a user name is taken by another consumer; ignored",
          );
          continue;
        }
        const credential = parsePassword(password);
        // A password from `${env:…}`, `${file:…}` or `${enc:…}` is not in the file.
        if (credential.kind === "plain" && !processSecrets.has(password)) plain.add(consumer.name);
        users.set(username, { consumer: identity, verify: credential.verify });
      }
    }
    if (plain.size > 0) {
      scope.log.warn(
        { consumers: [...plain] },
        "basic-auth: passwords written in plain text; store hashes from `gatehouse hash-password` instead",
      );
    }
    // An unknown user name is checked against a real user's password and then refused, so
    // it costs what a wrong password costs. With no users at all there is nothing to time.
    const decoy = users.values().next().value?.verify;
    const verified =
      config.cacheTtl > 0
        ? new LRUCache<string, ConsumerIdentity>({ max: 10_000, ttl: config.cacheTtl })
        : undefined;
    // Concurrent requests with the same credentials share one verification.
    const inFlight = new Map<string, Promise<ConsumerIdentity | undefined>>();
    const challenge = `Basic realm="${config.realm}", charset="UTF-8"`;
    const missing = {
      challenge,
      message: "No Basic credentials were sent",
      anonymous: anonymousConsumer(config.anonymous, scope.consumers),
    };

    const check = async (username: string, password: string) => {
      const user = users.get(username);
      if (user === undefined) {
        await decoy?.(password);
        return undefined;
      }
      return (await user.verify(password)) ? user.consumer : undefined;
    };

    const admit = (ctx: RequestContext, consumer: ConsumerIdentity | undefined) => {
      if (consumer === undefined) {
        scope.telemetry.authFailure(ctx, "invalid");
        refuse(ctx, challenge, "The user name or password is not valid");
        return;
      }
      identify(ctx, consumer);
      if (config.hideCredentials) ctx.setUpstreamHeader("authorization", undefined);
    };

    return {
      access(ctx) {
        const header = ctx.headers.authorization;
        if (header === undefined || !/^basic /i.test(header)) {
          deferMissing(ctx, missing);
          return;
        }
        const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
        const colon = decoded.indexOf(":");
        if (colon === -1) {
          scope.telemetry.authFailure(ctx, "invalid");
          refuse(ctx, challenge, "The Basic credentials are not user:password in base64");
          return;
        }
        const username = decoded.slice(0, colon);
        const password = decoded.slice(colon + 1);
        const key = cacheKey(username, password);
        const known = verified?.get(key);
        if (known !== undefined) {
          admit(ctx, known);
          return;
        }
        let pending = inFlight.get(key);
        if (pending === undefined) {
          pending = check(username, password).then((consumer) => {
            if (consumer !== undefined) verified?.set(key, consumer);
            return consumer;
          });
          pending.finally(() => inFlight.delete(key)).catch(() => {});
          inFlight.set(key, pending);
        }
        return pending.then((consumer) => admit(ctx, consumer));
      },
    };
  },
});
