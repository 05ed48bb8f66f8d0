/**
 * @module plugins/security-headers
 * Browser-hardening response headers: HSTS, X-Content-Type-Options, X-Frame-Options and
 * Referrer-Policy, each configurable or off. An upstream's own value is kept unless
 * `override` is set.
 */
import { z } from "zod";
import { duration } from "../../config/schema/fields.ts";
import { definePlugin } from "../../pipeline/plugin.ts";
import { findHeader, setHeader } from "../../proxy/headers.ts";

const schema = z.strictObject({
  hsts: z
    .union([
      z.literal(false),
      z.strictObject({
        maxAge: duration("180d").describe("How long browsers keep to HTTPS."),
        includeSubDomains: z.boolean().default(true),
        preload: z.boolean().default(false),
      }),
    ])
    .prefault({})
    .describe("Strict-Transport-Security, or false."),
  contentTypeOptions: z.boolean().default(true).describe("X-Content-Type-Options: nosniff."),
  frameOptions: z
    .union([z.enum(["DENY", "SAMEORIGIN"]), z.literal(false)])
    .default("DENY")
    .describe("X-Frame-Options, or false."),
  referrerPolicy: z
    .union([
      z.enum([
        "no-referrer",
        "no-referrer-when-downgrade",
        "origin",
        "origin-when-cross-origin",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
        "unsafe-url",
      ]),
      z.literal(false),
    ])
    .default("strict-origin-when-cross-origin")
    .describe("Referrer-Policy, or false."),
  override: z.boolean().default(false).describe("Replace the upstream's own values."),
});

export const securityHeadersPlugin = definePlugin({
  name: "security-headers",
  schema,
  priority: 100,
  create(config) {
    // Worked out once: the header pairs this instance sets.
    const set: [string, string][] = [];
    if (config.hsts) {
      const seconds = Math.floor(config.hsts.maxAge / 1000);
      let value = `max-age=${seconds}`;
      if (config.hsts.includeSubDomains) value += "; includeSubDomains";
      if (config.hsts.preload) value += "; preload";
      set.push(["strict-transport-security", value]);
    }
    if (config.contentTypeOptions) set.push(["x-content-type-options", "nosniff"]);
    if (config.frameOptions) set.push(["x-frame-options", config.frameOptions]);
    if (config.referrerPolicy) set.push(["referrer-policy", config.referrerPolicy]);
    return {
      onResponse(_ctx, response) {
        const headers = response.headers;
        for (const [name, value] of set) {
          const present = findHeader(headers, name);
          if (present === -1) headers.push(name, value);
          else if (config.override) setHeader(headers, name, value);
        }
      },
    };
  },
});
