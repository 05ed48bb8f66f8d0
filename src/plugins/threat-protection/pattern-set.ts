/**
 * @module plugins/threat-protection/pattern-set
 * The rules of the configured categories, ready to test values against. Each rule names
 * the characters every match of it contains (`needs`); one pass over a value notes which
 * of those it has, and only the rules it could match are run. Prose has quotes and dots,
 * so a few rules run on it; an id, a date or a name runs almost none.
 */
import { type ThreatCategory, type ThreatRule, threatRules } from "./rules.ts";

/** The rules of some categories. */
export class PatternSet {
  readonly rules: readonly ThreatRule[];
  /** Each rule case-insensitive, as the config's categories run it. */
  readonly #patterns: readonly RegExp[];
  /** Each rule's needed characters as bits of `#bits` (0: always run). */
  readonly #masks: Int32Array;
  /** The bit of each ASCII character some rule needs; 0 for the rest. */
  readonly #bits = new Int32Array(128);

  constructor(categories: readonly ThreatCategory[]) {
    const wanted = new Set(categories);
    this.rules = threatRules.filter((rule) => wanted.has(rule.category));
    this.#patterns = this.rules.map((rule) => new RegExp(rule.pattern.source, "i"));
    let next = 0;
    this.#masks = Int32Array.from(this.rules, (rule) => {
      let mask = 0;
      for (const char of rule.needs) {
        const code = char.charCodeAt(0);
        if (this.#bits[code] === 0) this.#bits[code] = 1 << next++;
        mask |= this.#bits[code]!;
      }
      return mask;
    });
    if (next > 31) throw new Error("threat rules need more distinct characters than a mask holds");
  }

  /**
   * The bytes some rule needs (see `needs`), as the JSON scanner's filter: a string with
   * none of them can match nothing. Undefined when a rule needs none: every string is tested.
   */
  wantedBytes(): Uint8Array | undefined {
    if (this.rules.some((rule) => rule.needs === "")) return undefined;
    const wanted = new Uint8Array(256);
    for (const rule of this.rules) for (const char of rule.needs) wanted[char.charCodeAt(0)] = 1;
    return wanted;
  }

  /** The rules `text` matches; undefined when none does. */
  match(text: string): ThreatRule[] | undefined {
    const present = this.#present(text);
    let hits: ThreatRule[] | undefined;
    for (let i = 0; i < this.rules.length; i++) {
      const mask = this.#masks[i]!;
      if ((mask === 0 || (mask & present) !== 0) && this.#patterns[i]!.test(text)) {
        hits ??= [];
        hits.push(this.rules[i]!);
      }
    }
    return hits;
  }

  /** The bits of the needed characters `text` has. */
  #present(text: string): number {
    const bits = this.#bits;
    let present = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code < 128) present |= bits[code]!;
    }
    return present;
  }
}
