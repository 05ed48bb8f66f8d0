/**
 * @module upstream/selectors/selector
 * The one contract every load-balancing algorithm implements.
 */
import type { Target } from "../target.ts";

/** What a selector may look at to choose: enough for hashing and affinity. */
export interface SelectionRequest {
  clientAddress: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
}

/**
 * Picks one target for a request from the service's targets. It must only return a
 * target whose `available()` is true, and undefined when there is none.
 */
export interface Selector {
  select(targets: readonly Target[], request: SelectionRequest): Target | undefined;
}
