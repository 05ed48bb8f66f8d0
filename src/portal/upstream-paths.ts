/**
 * @module portal/upstream-paths
 * A service's own OpenAPI document names the upstream's paths; clients call the gateway's.
 * This maps one to the other through a route: `stripPrefix` is put back in front, a
 * `rewrite` template is read backwards into the route's path patterns. A path the route
 * would not take maps to nothing, so the portal never lists an operation the gateway
 * would refuse.
 */
import type { RouteConfig } from "../config/schema/index.ts";
import { type PathPattern, parsePathPattern } from "../router/path-pattern.ts";

/** The gateway path templates (OpenAPI form) at which `route` serves `upstreamPath`. */
export function gatewayPathsOf(upstreamPath: string, route: RouteConfig): string[] {
  const patterns = route.match.paths.map(parsePathPattern);
  if (route.rewrite !== undefined) return throughRewrite(upstreamPath, route.rewrite, patterns);
  const prefix = route.stripPrefix && route.stripPrefix !== "/" ? route.stripPrefix : "";
  const path = prefix && upstreamPath === "/" ? prefix : prefix + upstreamPath;
  // An OpenAPI `{name}` stands where the route has a parameter or its wildcard: the
  // pattern's regex takes it as any other segment text.
  return patterns.some((pattern) => pattern.regex.test(path)) ? [path] : [];
}

/** Reads the rewrite template backwards: its parameters' values fill the route's patterns. */
function throughRewrite(
  upstreamPath: string,
  rewrite: string,
  patterns: readonly PathPattern[],
): string[] {
  let template: PathPattern;
  try {
    template = parsePathPattern(rewrite);
  } catch {
    // A template with a parameter inside a segment (`/files/:id.json`) is not read backwards.
    return [];
  }
  const match = template.regex.exec(upstreamPath);
  if (!match) return [];
  const values = new Map(template.paramNames.map((name, i) => [name, match[i + 1]!]));
  const rest = template.segments.at(-1)?.kind === "wildcard" ? match.at(-1) : undefined;
  const paths: string[] = [];
  for (const pattern of patterns) {
    const parts: string[] = [];
    for (const segment of pattern.segments) {
      const part =
        segment.kind === "static"
          ? segment.text
          : segment.kind === "param"
            ? values.get(segment.name)
            : rest;
      if (part === undefined) break;
      parts.push(part);
    }
    if (parts.length !== pattern.segments.length) continue;
    const path = `/${parts.join("/")}`;
    if (pattern.regex.test(path) && !paths.includes(path)) paths.push(path);
  }
  return paths;
}
