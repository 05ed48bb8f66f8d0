/**
 * @module upstream/selectors/uniform-pick
 * A uniformly random admissible target, shared by random and power-of-two.
 */
import type { Target } from "../target.ts";
import { admissible, type RandomSource, type SelectionOptions } from "./selector.ts";

/**
 * Random draws tried before counting the admissible targets. Each draw that lands on an
 * admissible target is a uniform pick among them (rejection sampling), so while most
 * targets are up a pick is O(1); only a mostly unavailable pool pays for the O(n) scan.
 */
export const randomProbes = 4;

/**
 * The index of a uniformly random admissible target other than `except`, or -1 if none.
 */
export function uniformIndex(
  targets: readonly Target[],
  random: RandomSource,
  options: SelectionOptions | undefined,
  except = -1,
): number {
  const count = targets.length;
  const choices = except === -1 ? count : count - 1;
  if (choices <= 0) return -1;
  for (let probe = 0; probe < randomProbes; probe++) {
    let index = Math.floor(random() * choices);
    if (except !== -1 && index >= except) index++;
    if (admissible(targets[index]!, options)) return index;
  }
  let admitted = 0;
  for (let i = 0; i < count; i++) {
    if (i !== except && admissible(targets[i]!, options)) admitted++;
  }
  if (admitted === 0) return -1;
  let nth = Math.floor(random() * admitted);
  let last = -1;
  for (let i = 0; i < count; i++) {
    if (i === except || !admissible(targets[i]!, options)) continue;
    if (nth-- === 0) return i;
    last = i;
  }
  // Only if a target stopped being admissible between the two passes.
  return last;
}
