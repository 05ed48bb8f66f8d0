/**
 * @module config/schema/fields
 * Field types shared by every part of the config schema: durations, sizes, ports, CIDRs,
 * upstream URLs.
 */
import { isIP } from "node:net";
import { z } from "zod";
import { parsePathPattern } from "../../router/path-pattern.ts";
import { parseDuration, parseSize } from "../units.ts";

/**
 * JSON Schema annotation naming the unit of a duration or size field (both convert to
 * numbers once parsed), so tools and docs/config.md can tell them from plain strings.
 */
export const unitKeyword = "x-gatehouse-unit";

const durationHint = "expected a duration like 250ms, 5s or 1m";

export const durationText = z
  // A bare number is the likeliest mistake (is 30 seconds or ms?): say a unit is needed.
  .string({ error: `${durationHint} (a number needs a unit)` })
  .meta({
    description: "A duration: a number and a unit of ms, s, m, h or d, e.g. `250ms`, `5s`, `1m`.",
    [unitKeyword]: "duration",
  })
  .refine((text) => parseDuration(text) !== undefined, { message: durationHint });

/** A duration with a default, in milliseconds once parsed. */
export const duration = (fallback: string) =>
  durationText.default(fallback).transform((text) => parseDuration(text)!);

/** A duration that may be left out (and then comes from elsewhere). */
export const optionalDuration = durationText.transform((text) => parseDuration(text)!).optional();

export const size = (fallback: string) =>
  z
    .union([z.number().int().nonnegative(), z.string()], {
      error: "expected a whole number of bytes or a size like 512kb, 10mb or 1gb",
    })
    .meta({
      description: "A size in bytes, or a string such as `512kb`, `10mb`, `1gb`; 0 means no limit.",
      [unitKeyword]: "size",
    })
    .refine((value) => typeof value === "number" || parseSize(value) !== undefined, {
      message: "expected a size like 512kb, 10mb or 1gb",
    })
    .default(fallback)
    .transform((value) => (typeof value === "number" ? value : parseSize(value)!));

export const port = z.number().int().min(0).max(65535);

/** A listener's `allowedHosts`: host names (no port), or `*.domain` for its subdomains. */
export const allowedHosts = z
  .array(
    z
      .string()
      .regex(
        /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i,
        "expected a host name such as admin.example.com or *.example.com (no scheme, no port)",
      ),
  )
  .default([]);

export const cidr = z
  .string()
  .refine(
    (text) => {
      const [address, bits, extra] = text.split("/");
      if (extra !== undefined || !address) return false;
      const family = isIP(address);
      if (family === 0) return false;
      if (bits === undefined) return true;
      const n = Number(bits);
      return /^\d+$/.test(bits) && n <= (family === 4 ? 32 : 128);
    },
    { message: "expected an IP address or CIDR range, e.g. 10.0.0.0/8 or ::1" },
  )
  .describe("An IP address or CIDR range, IPv4 or IPv6.");

export const httpUrl = z
  .string()
  .refine(
    (text) => {
      if (!URL.canParse(text)) return false;
      const url = new URL(text);
      return (
        (url.protocol === "http:" || url.protocol === "https:") &&
        url.hostname !== "" &&
        (url.pathname === "/" || url.pathname === "") &&
        !url.search &&
        !url.hash &&
        !url.username
      );
    },
    { message: "expected an http(s) URL with a host and no path, e.g. http://10.0.0.5:8080" },
  )
  .describe("An upstream origin: `http://host:port` or `https://host:port`.");

/** A route path pattern (`/exact`, `/users/:id`, `/files/*`), checked as the router parses it. */
export const pathPattern = z.string().superRefine((path, ctx) => {
  try {
    parsePathPattern(path);
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as Error).message });
  }
});

/**
 * Inside a superRefine: checks that exactly one of `keys` is set in `value`. Returns the
 * one set; else adds the issue (at the second key set, when several are) and returns
 * undefined. The message starts with `verb` ("set one of a, b or c, not a and c");
 * `choices` names the keys when none is set, if they need more words than their names.
 */
export function exactlyOneOf<K extends string>(
  value: Partial<Record<K, unknown>>,
  keys: readonly K[],
  ctx: z.core.$RefinementCtx,
  wording: { verb: string; choices?: string },
): K | undefined {
  const given = keys.filter((key) => value[key] !== undefined);
  if (given.length === 1) return given[0];
  const choices = keys.length > 1 ? `${keys.slice(0, -1).join(", ")} or ${keys.at(-1)}` : keys[0];
  ctx.addIssue({
    code: "custom",
    path: given.length > 1 ? [given[1]!] : [],
    message:
      given.length > 1
        ? `${wording.verb} one of ${choices}, not ${given.join(" and ")}`
        : `${wording.verb} one of ${wording.choices ?? choices}`,
  });
  return undefined;
}
