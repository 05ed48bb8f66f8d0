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

/** An immutable ring built from a targets array; owners are indexes into that array. */
export class HashRing {
  /** Point hashes, ascending. */
  readonly #hashes: Uint32Array;
  /** The target index owning each point. */
  readonly #owners: Uint32Array;

  constructor(targets: readonly Target[]) {
    let totalWeight = 0;
    for (const target of targets) totalWeight += target.weight;
    const scale = Math.min(1, maxPoints / (pointsPerWeight * totalWeight));
    const counts = targets.map((target) =>
      Math.max(1, Math.round(pointsPerWeight * target.weight * scale)),
    );
    const size = counts.reduce((sum, count) => sum + count, 0);
    const hashes = new Uint32Array(size);
    const owners = new Uint32Array(size);
    let next = 0;
    for (let owner = 0; owner < targets.length; owner++) {
      // A point depends only on the target's URL and its number, never on the other
      // targets, so the same target sits at the same places in every ring it is part of.
      const seed = fnv1a32(targets[owner]!.url);
      for (let point = 0; point < counts[owner]!; point++) {
        hashes[next] = mix32((seed + Math.imul(point, 0x9e3779b9)) >>> 0);
        owners[next++] = owner;
      }
    }
    [this.#hashes, this.#owners] = sortByHash(hashes, owners);
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

  /** A point's place on the circle. */
  pointHash(point: number): number {
    return this.#hashes[point]!;
  }

  /** The target index owning a point. */
  owner(point: number): number {
    return this.#owners[point]!;
  }
}

/**
 * Sorts points by hash, owners alongside: a stable radix sort in three passes of 11 bits,
 * a few times faster than a comparison sort for the ring of 1,000 targets and cheap to
 * set up for a small one.
 */
function sortByHash(hashes: Uint32Array, owners: Uint32Array): [Uint32Array, Uint32Array] {
  let fromHashes: Uint32Array = hashes;
  let fromOwners: Uint32Array = owners;
  let toHashes: Uint32Array = new Uint32Array(hashes.length);
  let toOwners: Uint32Array = new Uint32Array(owners.length);
  const starts = new Uint32Array(2_048);
  for (const shift of [0, 11, 22]) {
    starts.fill(0);
    for (let i = 0; i < fromHashes.length; i++) starts[(fromHashes[i]! >>> shift) & 0x7ff]!++;
    let sum = 0;
    for (let digit = 0; digit < starts.length; digit++) {
      const count = starts[digit]!;
      starts[digit] = sum;
      sum += count;
    }
    for (let i = 0; i < fromHashes.length; i++) {
      const at = starts[(fromHashes[i]! >>> shift) & 0x7ff]!++;
      toHashes[at] = fromHashes[i]!;
      toOwners[at] = fromOwners[i]!;
    }
    [fromHashes, toHashes] = [toHashes, fromHashes];
    [fromOwners, toOwners] = [toOwners, fromOwners];
  }
  return [fromHashes, fromOwners];
}
