/**
 * @module config/schema/consumers
 * `consumers`: the known clients of the APIs, their credentials (API keys, basic-auth
 * password hashes, client certificate identities) and the plugins that apply once one is
 * authenticated.
 */
import { z } from "zod";
import { passwordProblem } from "../../plugins/basic-auth/password-hash.ts";
import { pluginSchema } from "./plugins.ts";

export const consumerSchema = z
  .strictObject({
    name: z.string().min(1).describe("Unique consumer name."),
    groups: z.array(z.string()).default([]).describe("Groups the consumer belongs to."),
    metadata: z
      .record(z.string(), z.string())
      .default({})
      .describe("Free-form string labels, e.g. a team or plan."),
    credentials: z
      .strictObject({
        keys: z
          .array(z.string().min(8, "an API key must be at least 8 characters"))
          .default([])
          .describe(
            "API keys for key-auth: `sha256:<64 hex digits>` (the SHA-256 of the key, recommended) or the key itself.",
          ),
        basic: z
          .array(
            z.strictObject({
              username: z.string().min(1).describe("The user name sent in `Authorization: Basic`."),
              password: z
                .string()
                .min(1)
                // A hash that cannot be used fails here, located, rather than never matching.
                .superRefine((value, ctx) => {
                  const problem = passwordProblem(value);
                  if (problem) ctx.addIssue({ code: "custom", message: problem });
                })
                .describe(
                  "A password hash: `$scrypt$…` or bcrypt `$2b$…` (`gatehouse hash-password` makes one), or the password itself (warned at load).",
                ),
            }),
          )
          .default([])
          .describe("User names and password hashes for basic-auth."),
        certificates: z
          .array(z.string().min(1))
          .default([])
          .describe(
            "Client certificate identities for mtls: a subject alternative name (a DNS name, a URI such as `spiffe://…`, an email address) or the common name of a certificate that verifies against the listener's `tls.clientCertificate.ca`.",
          ),
      })
      .prefault({})
      .describe("How the consumer proves who it is."),
    plugins: z
      .array(pluginSchema)
      .default([])
      .describe(
        "Plugins that apply when this consumer is the one authenticated, replacing route, service or global ones of the same name (a higher rate limit, say). Authentication plugins cannot be set here: they run before the consumer is known.",
      ),
  })
  .describe("A client of the APIs.");
