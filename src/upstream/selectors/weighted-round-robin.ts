/**
 * @module upstream/selectors/weighted-round-robin
 * Smooth weighted round-robin, as nginx does it: weights 5,1,1 give a,a,b,a,c,a,a rather
 * than a,a,a,a,a,b,c, so no target takes its share in one burst.
 */
import type { Target } from "../target.ts";
import {
  admissible,
  type SelectionOptions,
  type SelectionRequest,
  type Selector,
} from "./selector.ts";

/** Limits on precomputing one period of the sequence (see `smoothSchedule`). */
export interface WeightedRoundRobinOptions {
  /** Longest period (sum of the weights) worth storing; default 65,536. */
  maxPeriod?: number;
  /** Most steps (period × targets) worth spending to compute it; default 2^22. */
  maxBuildSteps?: number;
}

/**
 * nginx's algorithm, each turn: every target's `current` grows by its weight, the largest
 * is picked and gives back the total. It is O(n) a pick, but the sequence repeats after
 * sum(weights) turns, so it is computed once per targets array and a pick is one array
 * read. Very long periods (large, coprime weights) fall back to running it live.
 */
export class WeightedRoundRobinSelector implements Selector {
  readonly #maxPeriod: number;
  readonly #maxBuildSteps: number;
  #targets: readonly Target[] | undefined;
  /** One period of the sequence as indexes into #targets, or undefined to run live. */
  #schedule: Uint32Array | undefined;
  #cursor = 0;
  /** A second walk over the schedule that hands on the turns of targets that cannot be picked. */
  #spare = 0;
  /** nginx's `current` weights, for the live algorithm. */
  #current = new Float64Array(0);

  constructor(options: WeightedRoundRobinOptions = {}) {
    this.#maxPeriod = options.maxPeriod ?? 1 << 16;
    this.#maxBuildSteps = options.maxBuildSteps ?? 1 << 22;
  }

  select(
    targets: readonly Target[],
    _request: SelectionRequest,
    options?: SelectionOptions,
  ): Target | undefined {
    if (targets.length === 0) return undefined;
    if (targets !== this.#targets) this.#prepare(targets);
    const schedule = this.#schedule;
    if (schedule === undefined) return this.#live(targets, options);
    const period = schedule.length;
    const target = targets[schedule[this.#cursor]!]!;
    this.#cursor = this.#cursor + 1 === period ? 0 : this.#cursor + 1;
    if (admissible(target, options)) return target;
    // A turn that cannot be taken goes to whoever the spare walk reaches next; that walk
    // follows the same smooth sequence, so handed-on turns are spread by weight as well.
    const limit = Math.min(period, 4 * targets.length);
    for (let step = 0; step < limit; step++) {
      const candidate = targets[schedule[this.#spare]!]!;
      this.#spare = this.#spare + 1 === period ? 0 : this.#spare + 1;
      if (admissible(candidate, options)) return candidate;
    }
    // Few targets left in a long period: let the live algorithm find one.
    return this.#live(targets, options);
  }

  #prepare(targets: readonly Target[]): void {
    this.#targets = targets;
    this.#cursor = 0;
    this.#spare = 0;
    this.#current = new Float64Array(targets.length);
    this.#schedule = smoothSchedule(
      targets.map((target) => target.weight),
      this.#maxPeriod,
      this.#maxBuildSteps,
    );
  }

  /** nginx's loop over the targets that can be picked now. */
  #live(targets: readonly Target[], options: SelectionOptions | undefined): Target | undefined {
    const current = this.#current;
    let total = 0;
    let best = -1;
    for (let i = 0; i < targets.length; i++) {
      const target = targets[i]!;
      if (!admissible(target, options)) continue;
      current[i]! += target.weight;
      total += target.weight;
      if (best === -1 || current[i]! > current[best]!) best = i;
    }
    if (best === -1) return undefined;
    current[best]! -= total;
    return targets[best];
  }
}

/**
 * One period of nginx's smooth sequence for these integer weights, as indexes; undefined
 * when the weights are not positive integers or the period is over the limits.
 */
export function smoothSchedule(
  weights: readonly number[],
  maxPeriod: number,
  maxBuildSteps: number,
): Uint32Array | undefined {
  let period = 0;
  for (const weight of weights) {
    if (!Number.isSafeInteger(weight) || weight <= 0) return undefined;
    period += weight;
  }
  if (period > maxPeriod || period * weights.length > maxBuildSteps) return undefined;
  const current = new Float64Array(weights.length);
  const schedule = new Uint32Array(period);
  for (let turn = 0; turn < period; turn++) {
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= period;
    schedule[turn] = best;
  }
  return schedule;
}
