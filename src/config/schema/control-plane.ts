/**
 * @module config/schema/control-plane
 * The static settings of the control plane: the admin API listener and its keys, where
 * admin changes are persisted (the config file, or etcd for many nodes) and how many
 * versions are kept, and the audit trail.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { originPatternProblem } from "../../plugins/cors/origins.ts";
import { allowedHosts, duration, port, size } from "./fields.ts";

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
    allowedHosts: allowedHosts.describe(
      "Host names the admin API answers to besides loopback names (`localhost`, `*.localhost`) and IP literals: `admin.example.com`, or `*.example.com` for every subdomain. Any other `Host` is refused (403), so a web page cannot reach the API through DNS rebinding (see docs/admin-api.md, Browser safety).",
    ),
    allowedOrigins: z
      .array(
        z
          .union([z.string(), z.strictObject({ regex: z.string().min(1) })])
          .superRefine((pattern, ctx) => {
            const problem =
              pattern === "*"
                ? '"*" would let every web page change the config: list the dashboard\'s origin'
                : originPatternProblem(pattern);
            if (problem) ctx.addIssue({ code: "custom", message: problem });
          }),
      )
      .default([])
      .describe(
        "Origins of web pages (besides the admin listener's own) that may change the config from a browser: `https://dashboard.example.com`, `https://*.example.com` or `{ regex }`. They also get CORS answers. A change from any other origin is refused (403).",
      ),
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

const etcdEndpoint = z
  .string()
  .regex(/^https?:\/\/[^/\s]+\/?$/, "expected http://host:port or https://host:port");

/** How a gateway reaches etcd: the config store's connection, and the registry's own. */
export const etcdConnectionSchema = z.strictObject({
  endpoints: z
    .array(etcdEndpoint)
    .min(1)
    .describe("etcd members to talk to, e.g. `[http://10.0.0.5:2379]`; any one of them will do."),
  prefix: z
    .string()
    .regex(/^\/(?:[\w.-]+\/)*$/, "expected a key prefix like /gatehouse/ (starts and ends with /)")
    .default("/gatehouse/")
    .describe(
      "Where this gateway cluster's config and versions live; gateways with the same prefix share one config.",
    ),
  auth: z
    .strictObject({
      username: z.string().min(1),
      password: z.string().min(1),
    })
    .optional()
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the docs show the literal syntax
    .describe("etcd user and password (best from `${env:…}` or `${file:…}`)."),
  tls: z
    .strictObject({
      ca: z
        .string()
        .min(1)
        .optional()
        .describe("PEM file of the CA that signed etcd's certificate."),
      cert: z
        .string()
        .min(1)
        .optional()
        .describe("PEM client certificate file, for etcd's client-cert auth."),
      key: z.string().min(1).optional().describe("PEM private key file of `cert`."),
    })
    .optional()
    .describe(
      "TLS to etcd (with `https://` endpoints); paths are relative to the working directory.",
    ),
  timeout: duration("2s").describe(
    "How long one etcd request may take before the store counts as unavailable.",
  ),
});

export const etcdStoreSchema = etcdConnectionSchema
  .extend({
    cache: z
      .string()
      .min(1)
      .optional()
      .describe(
        "A local file where the node keeps the last config it applied from etcd, so it can start while etcd is down. Unset: a node that cannot reach etcd at start refuses to start.",
      ),
  })
  .optional()
  .describe(
    "Keep the config and its versions in etcd, shared by every gateway node with the same `prefix` (see docs/architecture.md). The file's `services`, `routes`, `consumers` and `plugins` only seed an empty prefix; admin changes go to etcd and every node applies them.",
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
    etcd: etcdStoreSchema,
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
