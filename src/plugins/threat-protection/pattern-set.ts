/**
 * @module plugins/threat-protection/pattern-set
 * The rules of the configured categories compiled into one regular expression, so a value
 * that matches nothing (nearly all of them) costs one test; only a value that matches is
 * tested against each rule, to name the rules it hit.
 */
import { type ThreatCategory, type ThreatRule, threatRules } from "./rules.ts";

/** The rules of some categories, ready to test values against. */
export class PatternSet {
  readonly rules: readonly ThreatRule[];
  readonly #any: RegExp;
  /** Each rule as the union tests it (case-insensitive), to name the ones that hit. */
  readonly #each: readonly RegExp[];

  constructor(categories: readonly ThreatCategory[]) {
    const wanted = new Set(categories);
    this.rules = threatRules.filter((rule) => wanted.has(rule.category));
    this.#each = this.rules.map((rule) => new RegExp(rule.pattern.source, "i"));
    this.#any = new RegExp(this.#each.map((pattern) => `(?:${pattern.source})`).join("|"), "i");
  }

  /** The rules `text` matches; undefined when none does. */
  match(text: string): ThreatRule[] | undefined {
    if (!this.#any.test(text)) return undefined;
    return this.rules.filter((_, i) => this.#each[i]!.test(text));
  }
}
