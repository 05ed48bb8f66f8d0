/**
 * @module plugins/threat-protection
 * Refuses requests that carry attacks or would cost the upstream too much to parse: JSON
 * bodies past their limits (checked as they stream, before the upstream has them whole),
 * attack patterns in the path, query, chosen headers and JSON strings (reported, or
 * refused in `block` mode), attack tools by User-Agent, and XML bodies when told to.
 */
import { GatehouseError, isGatehouseError } from "../../errors.ts";
import type { RequestContext } from "../../pipeline/context.ts";
import { definePlugin } from "../../pipeline/plugin.ts";
import type { ThreatAction } from "../../pipeline/telemetry.ts";
import { requestBodyEncoded } from "../transform/request-coding.ts";
import { BodyInspection, type BodyScanner } from "./body-inspection.ts";
import { JsonLimitError, type JsonLimits, JsonScanner } from "./json-scanner.ts";
import { PatternSet } from "./pattern-set.ts";
import { BadBotMatcher, scanRequestHead, type ThreatHit } from "./request-head.ts";
import { type ThreatProtectionConfig, threatProtectionSchema } from "./schema.ts";
import { XmlLimitError, type XmlLimits, XmlScanner } from "./xml-scanner.ts";

const jsonType = /^\s*application\/(?:[\w.!#$&^-]+\+)?json\s*(?:;|$)/i;
const xmlType = /^\s*(?:application|text)\/(?:[\w.!#$&^-]+\+)?xml\s*(?:;|$)/i;

/** Limits when `json: false` but body patterns still scan: only what keeps the scan bounded. */
const scanOnlyLimits: JsonLimits = {
  maxDepth: 4096,
  maxKeys: Number.POSITIVE_INFINITY,
  maxArrayLength: Number.POSITIVE_INFINITY,
  maxStringLength: Number.POSITIVE_INFINITY,
  maxKeyLength: Number.POSITIVE_INFINITY,
  maxSize: Number.POSITIVE_INFINITY,
};

export const threatProtectionPlugin = definePlugin({
  name: "threat-protection",
  schema: threatProtectionSchema,
  // An edge check: before authentication spends work on a request that carries an attack.
  priority: 1090,
  create(config: ThreatProtectionConfig, { telemetry, log }) {
    const patterns = config.patterns || undefined;
    const set = patterns && new PatternSet(patterns.categories);
    const patternAction: ThreatAction = patterns?.mode === "block" ? "blocked" : "reported";
    const bots = config.badBots ? new BadBotMatcher(config.badBots.userAgents) : undefined;
    const botAction: ThreatAction =
      config.badBots && config.badBots.mode === "block" ? "blocked" : "reported";
    const limits = config.json ? jsonLimits(config.json) : undefined;
    const scanBody = limits !== undefined || (patterns?.body ?? false);
    const scanLength = patterns?.body ? patterns.maxLength : 0;
    const wanted = set?.wantedBytes();
    const xmlLimits: XmlLimits | undefined =
      typeof config.xml === "object"
        ? { ...config.xml, maxSize: config.xml.maxSize || Number.POSITIVE_INFINITY }
        : undefined;

    const record = (ctx: RequestContext, hit: ThreatHit, action: ThreatAction): void => {
      const rules = hit.rules.map((rule) => rule.id);
      for (const rule of rules) telemetry.threatMatch(ctx, rule, action);
      log.warn(
        { requestId: ctx.requestId, route: ctx.route, where: hit.where, rules, action },
        action === "blocked" ? "threat refused" : "threat reported",
      );
    };

    /** The body's scanner, its strings checked against the patterns when they are on. */
    const bodyScanner = (ctx: RequestContext): JsonScanner => {
      if (!(set && patterns?.body)) return new JsonScanner(limits ?? scanOnlyLimits);
      // Each rule is reported once per body, however many strings match it.
      const seen = new Set<string>();
      return new JsonScanner(
        limits ?? scanOnlyLimits,
        (text) => {
          const rules = set.match(text)?.filter((rule) => !seen.has(rule.id));
          if (!rules || rules.length === 0) return;
          for (const rule of rules) seen.add(rule.id);
          record(ctx, { where: "body", rules }, patternAction);
          if (patternAction === "blocked") throw new GatehouseError("GATEHOUSE_THREAT_DETECTED");
        },
        scanLength,
        wanted,
      );
    };

    return {
      access(ctx) {
        if (bots) {
          const agent = ctx.headers["user-agent"];
          const rule = typeof agent === "string" ? bots.match(agent) : undefined;
          if (rule !== undefined) {
            record(ctx, { where: "header:user-agent", rules: [{ id: rule }] }, botAction);
            if (botAction === "blocked") return ctx.fail("GATEHOUSE_THREAT_BAD_BOT");
          }
        }
        if (set && patterns) {
          const hits = scanRequestHead(ctx, set, patterns);
          for (const hit of hits) record(ctx, hit, patternAction);
          if (hits.length > 0 && patternAction === "blocked") {
            return ctx.fail("GATEHOUSE_THREAT_DETECTED");
          }
        }
        const length = ctx.headers["content-length"];
        const hasBody =
          (length !== undefined && length !== "0") ||
          ctx.headers["transfer-encoding"] !== undefined;
        if (!hasBody) return;
        const type = ctx.headers["content-type"] ?? "";
        const xml = xmlType.test(type);
        if (xml && config.xml === "reject") return ctx.fail("GATEHOUSE_THREAT_XML_REFUSED");
        const json = !xml && scanBody && jsonType.test(type);
        if (!(json || (xml && xmlLimits))) return;
        if (requestBodyEncoded(ctx)) {
          // Compressed bytes cannot be scanned: passing them unchecked would undo the limits.
          return ctx.fail(
            "GATEHOUSE_BODY_ENCODING_UNSUPPORTED",
            "The request body is compressed and the route must check it: send it uncompressed",
          );
        }
        const maxSize = json ? limits?.maxSize : xmlLimits!.maxSize;
        if (maxSize !== undefined && length !== undefined && Number(length) > maxSize) {
          const refusal = json
            ? new JsonLimitError("maxSize", maxSize)
            : new XmlLimitError("maxSize", maxSize);
          const rule = json ? "json-maxSize" : "xml-maxSize";
          record(ctx, { where: "header:content-length", rules: [{ id: rule }] }, "blocked");
          return ctx.fail(refusal.code, refusal.message);
        }
        const scanner: BodyScanner = json ? bodyScanner(ctx) : new XmlScanner(xmlLimits!);
        const inspection = new BodyInspection(scanner, (error) => {
          const rule =
            error instanceof JsonLimitError
              ? `json-${error.limit}`
              : error instanceof XmlLimitError
                ? `xml-${error.limit}`
                : undefined;
          if (rule !== undefined) record(ctx, { where: "body", rules: [{ id: rule }] }, "blocked");
          else if (!isGatehouseError(error)) {
            log.error({ err: error, requestId: ctx.requestId }, "threat scan failed");
          }
        });
        // The scanner enforces its own size limit, with its own code; the gateway's still holds.
        ctx.transformRequestBody(inspection, { maxSize: Number.MAX_SAFE_INTEGER });
      },
      describe: () => ({
        json: limits ?? false,
        xml: config.xml,
        patterns: patterns
          ? { mode: patterns.mode, rules: set!.rules.map((rule) => rule.id) }
          : false,
        badBots: config.badBots ? config.badBots.mode : false,
      }),
    };
  },
});

/** The config's JSON limits, a size of 0 read as no limit. */
function jsonLimits(json: Exclude<ThreatProtectionConfig["json"], false>): JsonLimits {
  const unlimited = (bytes: number) => (bytes === 0 ? Number.POSITIVE_INFINITY : bytes);
  return {
    ...json,
    maxStringLength: unlimited(json.maxStringLength),
    maxSize: unlimited(json.maxSize),
  };
}
