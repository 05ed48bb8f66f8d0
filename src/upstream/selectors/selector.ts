/**
 * @module upstream/selectors/selector
 * The one contract every load-balancing algorithm implements.
 */
import type { Target } from "../target.ts";

/** What a selector may look at to choose: enough for hashing and affinity. */
export interface SelectionRequest {
  /** The client's IP, as resolved through the trusted proxies. */
  clientAddress: string;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The request path as the client sent it (normalised, before any rewrite), without the query. */
  path: string;
  /** The raw query string, without the `?`; empty when there is none. */
  query: string;
  /** The authenticated consumer's name, once an auth plugin has identified one. */
  consumer?: string;
}

/** What the caller asks beyond the targets' own availability. Absent on the common path. */
export interface SelectionOptions {
  /**
   * Targets to pass over, e.g. those a retry already tried. Passing the service's own
   * targets array with `exclude`, rather than a filtered copy, keeps a selector's state
   * (ring, schedule, cursor) instead of rebuilding it for the copy.
   */
  exclude?: ReadonlySet<Target>;
}

/**
 * Picks one target for a request from the service's targets. It must only return a
 * target that is `admissible`, and undefined when there is none.
 *
 * The runtime passes the same `targets` array object until the service's targets change,
 * so a selector may keep state derived from it (a ring, a schedule) and rebuild it only
 * when it is handed a different array.
 */
export interface Selector {
  select(
    targets: readonly Target[],
    request: SelectionRequest,
    options?: SelectionOptions,
  ): Target | undefined;
}

/** A number in [0, 1), as `Math.random` returns; injectable so tests are deterministic. */
export type RandomSource = () => number;

/** Whether a selector may return `target`: available and not excluded. */
export function admissible(target: Target, options: SelectionOptions | undefined): boolean {
  return target.available() && !options?.exclude?.has(target);
}
