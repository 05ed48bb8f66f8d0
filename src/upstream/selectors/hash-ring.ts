/**
 * @module upstream/selectors/hash-ring
 * The ring of consistent hashing: each target owns points on a 32-bit circle in
 * proportion to its weight, and a key belongs to the owner of the first point at or after
 * its hash. Removing a target removes only its points, so only its keys move.
 */
import type { Target } from "../target.ts";
import { fnv1a32, mix32 } from "./hash32.ts";

/** Points per unit of weight (Kong's and ketama's order of magnitude): about ±8% share spread. */
export const pointsPerWeight = 160;
/** Ring size cap (2 MB of typed arrays); past it every target's points are scaled down alike. */
export const maxPoints = 1 << 18;

/** Packs a point as hash × 2^20 + owner in one float, so one numeric sort orders both. */
const ownerSpace = 2 ** 20;

/** An immutable ring built from a targets array; owners are indexes into that array. */
export class HashRing {
  /** Point hashes, ascending. */
  readonly #hashes: Uint32Array;
  /** The target index owning each point. */
  readonly #owners: Uint32Array;

  constructor(targets: readonly Target[]) {
    if (targets.length >= ownerSpace) throw new RangeError("too many targets for a hash ring");
    let totalWeight = 0;
    for (const target of targets) totalWeight += target.weight;
    const scale = Math.min(1, maxPoints / (pointsPerWeight * totalWeight));
    const counts = targets.map((target) =>
      Math.max(1, Math.round(pointsPerWeight * target.weight * scale)),
    );
    const packed = new Float64Array(counts.reduce((sum, count) => sum + count, 0));
    let next = 0;
    for (let owner = 0; owner < targets.length; owner++) {
      // A point depends only on the target's URL and its number, never on the other
      // targets, so the same target sits at the same places in every ring it is part of.
      const seed = fnv1a32(targets[owner]!.url);
      for (let point = 0; point < counts[owner]!; point++) {
        const hash = mix32((seed + Math.imul(point, 0x9e3779b9)) >>> 0);
        packed[next++] = hash * ownerSpace + owner;
      }
    }
    packed.sort();
    this.#hashes = new Uint32Array(packed.length);
    this.#owners = new Uint32Array(packed.length);
    for (let i = 0; i < packed.length; i++) {
      const hash = Math.floor(packed[i]! / ownerSpace);
      this.#hashes[i] = hash;
      this.#owners[i] = packed[i]! - hash * ownerSpace;
    }
  }

  /** How many points the ring has. */
  get size(): number {
    return this.#hashes.length;
  }

  /** The first point at or after `hash`, wrapping past the top to point 0. */
  find(hash: number): number {
    const hashes = this.#hashes;
    let low = 0;
    let high = hashes.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (hashes[middle]! < hash) low = middle + 1;
      else high = middle;
    }
    return low === hashes.length ? 0 : low;
  }

  /** The target index owning a point. */
  owner(point: number): number {
    return this.#owners[point]!;
  }
}
