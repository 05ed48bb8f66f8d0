/**
 * @module config/diff-ahead
 * The audit's resource list for a change from one document to the next, worked out
 * elsewhere than where it is asked for: the validation thread, which still holds both
 * documents of two configs it answered with, diffs them when asked (runtime/validation-
 * thread), so the serving thread does not hold requests for it after a 10,000-route swap.
 * Kept by document object; used only when the change audited is from exactly that document.
 */

import type { ResourceChange } from "./diff.ts";
import type { ConfigDocument } from "./document.ts";

/** What the audit records of each resource a change touched. */
export type AuditedResource = Pick<ResourceChange, "kind" | "name" | "change">;

/** Works out the changes; undefined when it cannot (then they are diffed where asked). */
type Ask = () => Promise<AuditedResource[] | undefined>;

const ahead = new WeakMap<ConfigDocument, { from: ConfigDocument; ask: Ask }>();

/** Records where the resources changed from `from` to `to` can be asked for. */
export function rememberResourceChanges(from: ConfigDocument, to: ConfigDocument, ask: Ask): void {
  ahead.set(to, { from, ask });
}

/**
 * The resources changed from `from` to `to`, asked of whoever can work them out elsewhere;
 * undefined (or a promise of it) when no one can: diff them here then.
 */
export function resourceChangesAhead(
  from: ConfigDocument,
  to: ConfigDocument,
): Promise<AuditedResource[] | undefined> | undefined {
  const known = ahead.get(to);
  return known?.from === from ? known.ask() : undefined;
}
