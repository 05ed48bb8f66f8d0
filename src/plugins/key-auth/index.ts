/**
 * @module plugins/key-auth
 * API keys: the key from a header (or a query argument) names a consumer. Keys are kept
 * as SHA-256 digests and looked up by the digest of what the client sent, so the lookup
 * time says nothing about the key; the key is not forwarded upstream by default.
 */
import { z } from "zod";
import { keyDigest, writtenKeyDigest } from "../../config/key-digest.ts";
import type { ConsumerIdentity } from "../../pipeline/context.ts";
import { definePlugin } from "../../pipeline/plugin.ts";
import {
  anonymousConsumer,
  anonymousOption,
  deferMissing,
  hideCredentialsOption,
  identify,
  refuse,
} from "../auth/authentication.ts";

const schema = z.strictObject({
  header: z.string().min(1).default("x-api-key").describe("Header that carries the key."),
  query: z.string().min(1).optional().describe("Query argument that may carry the key instead."),
  hideCredentials: hideCredentialsOption("the key"),
  anonymous: anonymousOption,
});

export const keyAuthPlugin = definePlugin({
  name: "key-auth",
  schema,
  priority: 1000,
  authenticates: true,
  create(config, scope) {
    const header = config.header.toLowerCase();
    const byDigest = new Map<string, ConsumerIdentity>();
    const plain: string[] = [];
    for (const consumer of scope.consumers) {
      const identity = { name: consumer.name, groups: consumer.groups };
      for (const key of consumer.credentials.keys) {
        const { digest, plain: written } = writtenKeyDigest(key);
        byDigest.set(digest, identity);
        if (written) plain.push(consumer.name);
      }
    }
    if (plain.length > 0) {
      scope.log.warn(
        { consumers: [...new Set(plain)] },
        'key-auth: API keys written in plain text; store "sha256:" digests instead',
      );
    }
    const challenge = `ApiKey header="${config.header}"`;
    const missing = {
      challenge,
      message: "No API key was sent",
      anonymous: anonymousConsumer(config.anonymous, scope.consumers),
    };

    return {
      access(ctx) {
        let key = ctx.headers[header];
        let fromQuery = false;
        if (key === undefined && config.query) {
          const query = ctx.query;
          const value = query === "" ? null : new URLSearchParams(query).get(config.query);
          if (value !== null) {
            key = value;
            fromQuery = true;
            ctx.markQueryCredential(config.query);
          }
        }
        if (key === undefined) {
          deferMissing(ctx, missing);
          return;
        }
        const consumer = typeof key === "string" ? byDigest.get(keyDigest(key)) : undefined;
        if (!consumer) {
          scope.telemetry.authFailure(ctx, "invalid");
          refuse(ctx, challenge, "The API key is not valid");
          return;
        }
        identify(ctx, consumer);
        if (config.hideCredentials) {
          if (fromQuery) ctx.removeQueryParam(config.query!);
          else ctx.setUpstreamHeader(header, undefined);
        }
      },
    };
  },
});
