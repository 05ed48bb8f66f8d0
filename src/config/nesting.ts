/**
 * @module config/nesting
 * How deeply a config (or a part of one sent to the admin API) may nest. No config needs
 * more than a few dozen levels, while thousands overflow the stack of every recursive walk
 * that follows (validation, redaction, diff, merge patch): so depth is measured first,
 * without recursion, and a deeper document is refused before anything recursive runs.
 */

/** The deepest nesting of lists and maps a config document may have. */
export const maxNestingDepth = 100;

/** Whether `value` (plain data) nests lists and maps more than `limit` levels deep. */
export function nestsDeeperThan(value: unknown, limit = maxNestingDepth): boolean {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    if (next.value === null || typeof next.value !== "object") continue;
    const depth = next.depth + 1;
    if (depth > limit) return true;
    const items = Array.isArray(next.value) ? next.value : Object.values(next.value);
    for (const item of items)
      if (item !== null && typeof item === "object") pending.push({ value: item, depth });
  }
  return false;
}
