/**
 * @module plugins/mtls
 * Client certificates as credentials: a certificate that verified against the listener's
 * `tls.clientCertificate.ca` names the consumer whose `credentials.certificates` hold one of
 * its subject alternative names (or its common name). The TLS handshake did the proving;
 * this maps the proven identity to a consumer, so ACLs and limits by consumer apply.
 */
import { z } from "zod";
import type { ConsumerIdentity } from "../../pipeline/context.ts";
import { definePlugin } from "../../pipeline/plugin.ts";
import {
  anonymousConsumer,
  anonymousOption,
  deferMissing,
  identify,
  refuse,
} from "../auth/authentication.ts";

const schema = z.strictObject({
  upstreamHeader: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Send the identity that matched (the certificate's name) upstream in this header; one the client sent is replaced or removed.",
    ),
  anonymous: anonymousOption,
});

const challenge = 'ClientCertificate realm="gatehouse"';

export const mtlsPlugin = definePlugin({
  name: "mtls",
  schema,
  priority: 1000,
  authenticates: true,
  create(config, scope) {
    const byIdentity = new Map<string, ConsumerIdentity>();
    for (const consumer of scope.consumers) {
      const identity = { name: consumer.name, groups: consumer.groups };
      for (const name of consumer.credentials.certificates)
        if (!byIdentity.has(name)) byIdentity.set(name, identity);
    }
    const header = config.upstreamHeader?.toLowerCase();
    const missing = {
      challenge,
      message: "No client certificate was sent",
      anonymous: anonymousConsumer(config.anonymous, scope.consumers),
    };
    return {
      access(ctx) {
        if (header) ctx.setUpstreamHeader(header, undefined);
        const certificate = ctx.clientCertificate;
        if (!certificate) {
          deferMissing(ctx, missing);
          return;
        }
        if (!certificate.verified) {
          scope.telemetry.authFailure(ctx, "invalid");
          refuse(ctx, challenge, "The client certificate is not trusted");
          return;
        }
        let matched: string | undefined;
        for (const name of certificate.names)
          if (byIdentity.has(name)) {
            matched = name;
            break;
          }
        if (
          matched === undefined &&
          certificate.commonName &&
          byIdentity.has(certificate.commonName)
        )
          matched = certificate.commonName;
        if (matched === undefined) {
          scope.telemetry.authFailure(ctx, "invalid");
          refuse(ctx, challenge, "The client certificate names no consumer");
          return;
        }
        identify(ctx, byIdentity.get(matched)!);
        if (header) ctx.setUpstreamHeader(header, matched);
      },
    };
  },
});
