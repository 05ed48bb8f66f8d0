/**
 * @module plugins/threat-protection/schema
 * The threat-protection config: JSON limits (on by default), what XML bodies get, the
 * attack patterns (reported by default) and the attack tools' User-Agents (refused by
 * default). Every part works with no options.
 */
import { z } from "zod";
import { size } from "../../config/schema/fields.ts";
import { threatCategories } from "./rules.ts";

const count = (fallback: number, what: string) =>
  z.number().int().min(1).default(fallback).describe(what);

const mode = z
  .enum(["block", "report"])
  .describe("`block`: refuse with 403. `report`: log and count, and pass the request on.");

export const threatProtectionSchema = z.strictObject({
  json: z
    .union([
      z.strictObject({
        maxDepth: count(64, "Deepest nesting of objects and arrays."),
        maxKeys: count(1000, "Most keys in one object."),
        maxArrayLength: count(10_000, "Most elements in one array."),
        maxStringLength: size("1mb").describe("Longest string value, in bytes as sent."),
        maxKeyLength: count(256, "Longest object key, in bytes as sent."),
        maxSize: size("10mb").describe("Largest JSON body."),
      }),
      z.literal(false),
    ])
    .prefault({})
    .describe(
      "Limits on JSON bodies (`application/json`, `*+json`), enforced as the body streams; or false.",
    ),
  xml: z
    .union([
      z.enum(["pass", "reject"]),
      z.strictObject({
        maxDepth: count(64, "Deepest nesting of elements."),
        maxSize: size("10mb").describe("Largest XML body."),
        doctype: z
          .boolean()
          .default(false)
          .describe(
            "Let a DOCTYPE through (entity declarations: entity expansion, external entities).",
          ),
      }),
    ])
    .default("pass")
    .describe(
      "XML bodies (`application/xml`, `text/xml`, `*+xml`): `pass` them on unchecked, `reject` them with 415, or check them against limits as they stream.",
    ),
  patterns: z
    .union([
      z.strictObject({
        mode: mode.default("report"),
        categories: z
          .array(z.enum(threatCategories))
          .min(1)
          .default([...threatCategories])
          .describe("Which rule sets run: `sqli`, `xss`, `traversal`, `command`."),
        path: z.boolean().default(true).describe("Check the path, percent-decoded once."),
        query: z
          .boolean()
          .default(true)
          .describe("Check each query argument's name and value, decoded once."),
        headers: z
          .array(z.string().min(1).toLowerCase())
          .default(["user-agent", "referer"])
          .describe("The request headers whose values are checked."),
        body: z
          .boolean()
          .default(true)
          .describe("Check each key and string value of a JSON body, as it streams."),
        maxLength: count(4096, "Characters of each value checked (its start)."),
      }),
      z.literal(false),
    ])
    .prefault({})
    .describe("Attack patterns (SQL injection, XSS, path traversal, command injection); or false."),
  badBots: z
    .union([
      z.strictObject({
        mode: mode.default("block"),
        userAgents: z
          .array(z.string().min(1))
          .default([])
          .describe("More User-Agent words to treat as attack tools (case-insensitive)."),
      }),
      z.literal(false),
    ])
    .prefault({})
    .describe("Attack tools by User-Agent (sqlmap, nikto, nuclei, ...); or false."),
});

export type ThreatProtectionConfig = z.output<typeof threatProtectionSchema>;
