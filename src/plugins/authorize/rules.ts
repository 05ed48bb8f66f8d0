/**
 * @module plugins/authorize/rules
 * The authorize plugin's rules: their config schema, and their compiled form (path
 * patterns parsed once, lists turned into sets) with the test of one rule against one
 * request.
 */
import { z } from "zod";
import { pathPattern } from "../../config/schema/fields.ts";
import { httpMethod } from "../../config/schema/http-methods.ts";
import type { ConsumerIdentity } from "../../pipeline/context.ts";
import { parsePathPattern } from "../../router/path-pattern.ts";

const claimValue = z.union([z.string(), z.number(), z.boolean()]);

const ruleSchema = z
  .strictObject({
    methods: z
      .array(httpMethod)
      .min(1)
      .optional()
      .describe("The rule applies to these methods only; omitted means any."),
    paths: z
      .array(pathPattern)
      .min(1)
      .optional()
      .describe(
        "The rule applies to these paths only (`/exact`, `/users/:id`, `/files/*`); omitted means any.",
      ),
    scopes: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe(
        "Scopes the token must all carry (`scope` or `scp` of a jwt or oauth2-introspection token).",
      ),
    claims: z
      .record(z.string().min(1), z.union([claimValue, z.array(claimValue).min(1)]))
      .optional()
      .describe("Token claims that must each equal the value, or one of the values, given."),
    groups: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("The consumer must be in one of these groups."),
    consumers: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe("The consumer must be one of these."),
    allow: z
      .boolean()
      .default(true)
      .describe("false: the rule refuses every request it applies to (and may set no conditions)."),
  })
  .superRefine((rule, ctx) => {
    const conditions = (["scopes", "claims", "groups", "consumers"] as const).filter(
      (key) => rule[key] !== undefined,
    );
    if (!rule.allow && conditions.length > 0) {
      ctx.addIssue({
        code: "custom",
        path: [conditions[0]!],
        message: "a rule with allow: false refuses all it applies to, so it cannot have conditions",
      });
    }
  })
  .describe("When the rule applies (methods, paths) and what it then requires.");

export const authorizeSchema = z.strictObject({
  rules: z.array(ruleSchema).min(1).describe("Tried in order; the first that applies decides."),
  default: z
    .enum(["deny", "allow"])
    .default("deny")
    .describe("What happens to a request no rule applies to."),
});

export type RuleConfig = z.output<typeof ruleSchema>;
type ClaimValue = z.output<typeof claimValue>;

/** What a rule is checked against. */
export interface Subject {
  consumer: ConsumerIdentity | undefined;
  /** The token's claims (jwt or oauth2-introspection), if a token was accepted. */
  claims: Record<string, unknown> | undefined;
  scopes: ReadonlySet<string>;
}

/** Why a rule refused, or undefined if it allowed. */
export type Refusal = "anonymous" | "scope" | "condition" | "denied";

export interface CompiledRule {
  applies(method: string, path: string): boolean;
  decide(subject: Subject): Refusal | undefined;
  scopes: readonly string[];
}

/** Compiles a validated rule. */
export function compileRule(rule: RuleConfig): CompiledRule {
  const methods = rule.methods && new Set(rule.methods);
  const patterns = rule.paths?.map((path) => parsePathPattern(path).regex);
  const groups = rule.groups && new Set(rule.groups);
  const consumers = rule.consumers && new Set(rule.consumers);
  const claims = Object.entries(rule.claims ?? {}).map(
    ([name, value]) => [name, new Set<ClaimValue>(Array.isArray(value) ? value : [value])] as const,
  );
  const scopes = rule.scopes ?? [];
  const needsConsumer = groups !== undefined || consumers !== undefined;
  const needsToken = scopes.length > 0 || claims.length > 0;
  return {
    scopes,
    applies(method, path) {
      if (methods !== undefined && !methods.has(method)) return false;
      return patterns === undefined || patterns.some((pattern) => pattern.test(path));
    },
    decide(subject) {
      if (!rule.allow) return "denied";
      if ((needsConsumer || needsToken) && !subject.consumer && !subject.claims) return "anonymous";
      if (needsConsumer && !subject.consumer) return "condition";
      if (groups && !subject.consumer!.groups.some((group) => groups.has(group)))
        return "condition";
      if (consumers && !consumers.has(subject.consumer!.name)) return "condition";
      for (const [name, accepted] of claims) {
        const value = subject.claims?.[name];
        const values = Array.isArray(value) ? value : [value];
        if (!values.some((one) => accepted.has(one as ClaimValue))) return "condition";
      }
      if (scopes.some((scope) => !subject.scopes.has(scope))) return "scope";
      return undefined;
    },
  };
}
