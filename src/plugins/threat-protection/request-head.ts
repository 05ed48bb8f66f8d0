/**
 * @module plugins/threat-protection/request-head
 * What the patterns check before any body: the path as the client sent it (the router's
 * normalised path has already resolved `..`), each query argument, and the chosen headers,
 * each percent-decoded once and cut at the scan length; and the User-Agent against the
 * attack tools' names.
 */
import type { RequestContext } from "../../pipeline/context.ts";
import type { PatternSet } from "./pattern-set.ts";
import { percentDecode } from "./percent-decode.ts";
import { badBotNames, type ThreatRule } from "./rules.ts";

/** Rules that matched one part of the request (`path`, `query:NAME`, `header:NAME`, `body`). */
export interface ThreatHit {
  where: string;
  rules: readonly { id: string }[];
}

/** Where the patterns look in the request head. */
export interface HeadScanOptions {
  path: boolean;
  query: boolean;
  headers: readonly string[];
  maxLength: number;
}

/** The rules the request's path, query and headers match, by where; empty when none. */
export function scanRequestHead(
  ctx: RequestContext,
  set: PatternSet,
  options: HeadScanOptions,
): ThreatHit[] {
  const hits: ThreatHit[] = [];
  const url = ctx.req.url ?? "";
  const mark = url.indexOf("?");
  if (options.path) {
    const path = mark === -1 ? url : url.slice(0, mark);
    check(hits, "path", set, percentDecode(path, options.maxLength));
  }
  if (options.query && mark !== -1 && mark + 1 < url.length) {
    for (const argument of url.slice(mark + 1).split("&")) {
      if (argument === "") continue;
      const equals = argument.indexOf("=");
      const name = equals === -1 ? argument : argument.slice(0, equals);
      const where = `query:${percentDecode(name, 64, true)}`;
      check(hits, where, set, percentDecode(argument, options.maxLength, true));
    }
  }
  for (const name of options.headers) {
    const value = ctx.headers[name];
    if (value === undefined) continue;
    const text = typeof value === "string" ? value : value.join(", ");
    check(hits, `header:${name}`, set, percentDecode(text, options.maxLength));
  }
  return hits;
}

function check(hits: ThreatHit[], where: string, set: PatternSet, text: string): void {
  const rules: ThreatRule[] | undefined = set.match(text);
  if (rules) hits.push({ where, rules });
}

/** Finds attack tools by the names they put in User-Agent. */
export class BadBotMatcher {
  readonly #pattern: RegExp;
  readonly #known = new Set<string>(badBotNames);

  constructor(extra: readonly string[]) {
    const words = [...badBotNames, ...extra.map(escapeRegExp)];
    this.#pattern = new RegExp(`\\b(${words.join("|")})\\b`, "i");
  }

  /** The rule id (`bot-NAME`, or `bot-custom` for a configured word), if `userAgent` is one. */
  match(userAgent: string): string | undefined {
    const found = this.#pattern.exec(userAgent)?.[1];
    if (found === undefined) return undefined;
    const name = found.toLowerCase();
    return this.#known.has(name) ? `bot-${name}` : "bot-custom";
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
