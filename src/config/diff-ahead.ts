/**
 * @module config/diff-ahead
 * The audit's resource list for a change from one document to the next, worked out
 * before it is asked for: the validation thread diffs each config it answers with against
 * the one it answered with before (runtime/validation-worker), after its answer has gone,
 * so the serving thread does not hold requests for it after a 10,000-route swap. Kept by
 * document object; used only when the change audited is from exactly that document.
 */

import type { ResourceChange } from "./diff.ts";
import type { ConfigDocument } from "./document.ts";

/** What the audit records of each resource a change touched. */
export type AuditedResource = Pick<ResourceChange, "kind" | "name" | "change">;

const ahead = new WeakMap<ConfigDocument, { from: ConfigDocument; resources: AuditedResource[] }>();

/** Records the resources that changed from `from` to `to` (as diffConfigs reports them). */
export function rememberResourceChanges(
  from: ConfigDocument,
  to: ConfigDocument,
  resources: AuditedResource[],
): void {
  ahead.set(to, { from, resources });
}

/** The resources changed from `from` to `to`, when they were worked out ahead; else undefined. */
export function resourceChangesAhead(
  from: ConfigDocument,
  to: ConfigDocument,
): AuditedResource[] | undefined {
  const known = ahead.get(to);
  return known?.from === from ? known.resources : undefined;
}
