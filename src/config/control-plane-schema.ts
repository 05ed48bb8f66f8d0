/**
 * @module config/control-plane-schema
 * The static settings of the control plane: the admin API listener and its keys, where
 * admin changes are persisted and how many versions are kept, and the audit trail.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { port, size } from "./fields.ts";

const adminKeySchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[\w.@-]{1,64}$/, "expected 1–64 letters, digits, `_`, `.`, `@` or `-`")
      .describe(
        "Who holds the key: recorded as the actor of every change made with it (versions, audit log).",
      ),
    key: z.string().min(16, "an admin key must be at least 16 characters").describe(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the docs show the literal syntax
      "The key, sent as `Authorization: Bearer <key>` or `X-Admin-Key: <key>`: `sha256:<64 hex digits>` (the SHA-256 of the key, recommended) or the key itself, best from `${env:…}` or `${file:…}`.",
    ),
    readOnly: z
      .boolean()
      .default(false)
      .describe("The key may read (GET) but not change anything."),
  })
  .describe("A key that may use the admin API.");

/** Whether `host` only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1" || host === "::ffff:127.0.0.1";
}

export const adminSchema = z
  .strictObject({
    host: z
      .string()
      .default("127.0.0.1")
      .describe(
        "Address to bind. Anything but loopback needs `keys`: the gateway refuses to start without them.",
      ),
    port: port.describe("TCP port to bind; 0 picks a free one."),
    keys: z
      .array(adminKeySchema)
      .default([])
      .describe(
        "Keys that may use the admin API. With none, only loopback clients can, without a key.",
      ),
    maxBodySize: size("16mb").describe("Largest request body (a whole config for `PUT /config`)."),
  })
  .superRefine((admin, ctx) => {
    if (admin.keys.length === 0 && !isLoopbackHost(admin.host))
      ctx.addIssue({
        code: "custom",
        path: ["keys"],
        message: `the admin API binds ${admin.host}, which is not loopback: give it keys (anyone who can reach it could change the config)`,
      });
    const seen = new Set<string>();
    admin.keys.forEach((key, index) => {
      if (seen.has(key.id))
        ctx.addIssue({
          code: "custom",
          path: ["keys", index, "id"],
          message: `duplicate admin key id "${key.id}"`,
        });
      seen.add(key.id);
    });
  })
  .optional()
  .describe(
    "The admin API (see docs/admin-api.md): REST resources for services, routes, consumers and global plugins, the config with its versions, diff and rollback. Off unless set.",
  );

export const configStoreSchema = z
  .strictObject({
    file: z
      .boolean()
      .default(true)
      .describe(
        "Write changes made through the admin API back into the config file (its `services`, `routes`, `consumers` and `plugins`), so a restart keeps them. Off: they last until the process ends, as for a read-only ConfigMap.",
      ),
    versions: z
      .number()
      .int()
      .min(2)
      .max(10_000)
      .default(20)
      .describe("How many applied configs are kept for `GET /config/versions`, diff and rollback."),
  })
  .prefault({})
  .describe("Where the config and its versions are kept (see docs/control-plane.md).");

export const auditSchema = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .optional()
      .describe(
        "Append-only JSON-lines file (relative to the working directory) of every config change attempt. Unset: the same records go to the process log.",
      ),
  })
  .prefault({})
  .describe(
    "The audit trail: every config change attempt, accepted or refused, with who, from where, when, the version and the resources it touched; never a secret.",
  );
