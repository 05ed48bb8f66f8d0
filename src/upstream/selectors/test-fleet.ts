/**
 * @module upstream/selectors/test-fleet
 * Test support for the selector tests and the selector bench: targets with no server
 * behind them (their pools connect lazily and never do), requests and a seeded random.
 */
import type { Clock } from "../clock.ts";
import { Target } from "../target.ts";
import type { RandomSource, SelectionRequest } from "./selector.ts";

/** Targets made by `fleet`, for `destroyFleet` to close. */
const created: Target[] = [];

/** One target per weight, at http://10.0.x.y:8080 (index i). */
export function fleet(weights: readonly number[], clock?: Clock): Target[] {
  const targets = weights.map(
    (weight, i) =>
      new Target({
        url: `http://10.0.${i >> 8}.${i & 255}:8080`,
        weight,
        connectTimeout: 1000,
        ...(clock ? { clock } : {}),
      }),
  );
  created.push(...targets);
  return targets;
}

/** Closes every target `fleet` made; pass to `after()`. */
export async function destroyFleet(): Promise<void> {
  await Promise.all(created.splice(0).map((target) => target.destroy()));
}

/** A request from client n (10.a.b.c), with optional extras. */
export function clientRequest(n: number, extra: Partial<SelectionRequest> = {}): SelectionRequest {
  return {
    clientAddress: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
    headers: {},
    path: "/",
    query: "",
    ...extra,
  };
}

/** mulberry32: a small, well-spread seeded generator for deterministic random selectors. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
