/**
 * @module router/table-keys
 * How the route table keys a path pattern (router/route-table): the one path a pattern
 * without parameters matches, the literal first segment a parametric one may be found
 * under alone, and find-my-way's names for its parameters. Worked out once per parsed
 * pattern (patterns are shared and frozen, see router/path-pattern), so a reload of the
 * same routes finds them known.
 */
import { encodePathText, type PathPattern } from "./path-pattern.ts";

/** What the table needs to know of a pattern's key, worked out once per (shared, frozen) pattern. */
export interface KeyShape {
  /** The one path it matches, when it has no parameter or wildcard (see staticPath). */
  literal: string | undefined;
  /** Its literal first segment, when a parameter or wildcard follows (route-table's HostTable.lone). */
  loneSegment: string | undefined;
  /** find-my-way's names for its parameters: `p0`, `p1`, ... (shared: never changed). */
  params: string[];
}

const keyShapes = new WeakMap<PathPattern, KeyShape>();
const paramNameLists: string[][] = [];

/** The pattern's KeyShape; a reload's patterns are mostly the last one's, so mostly known. */
export function keyShape(pattern: PathPattern): KeyShape {
  let shape = keyShapes.get(pattern);
  if (!shape) {
    const count = pattern.paramNames.length;
    paramNameLists[count] ??= Array.from({ length: count }, (_, i) => `p${i}`);
    shape = {
      literal: staticPath(pattern),
      loneSegment: loneCandidateSegment(pattern),
      params: paramNameLists[count]!,
    };
    keyShapes.set(pattern, shape);
  }
  return shape;
}

/**
 * The literal first segment (as a normalised path spells it) of a pattern with a parameter
 * or wildcard after it; undefined for a pattern that starts with one or has neither.
 */
function loneCandidateSegment(pattern: PathPattern): string | undefined {
  const [first, ...rest] = pattern.segments;
  if (first?.kind !== "static" || rest.every((segment) => segment.kind === "static"))
    return undefined;
  return encodePathText(first.text);
}

/** The one path a pattern without parameters or wildcard matches; undefined for the others. */
function staticPath(pattern: PathPattern): string | undefined {
  if (pattern.segments.some((segment) => segment.kind !== "static")) return undefined;
  // The tree key is that path with find-my-way's escape for ":" (see path-pattern).
  return pattern.treeKey.replaceAll("::", ":");
}
