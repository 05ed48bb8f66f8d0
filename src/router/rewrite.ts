/**
 * @module router/rewrite
 * The path sent upstream: the normalised request path, with `stripPrefix` removed or
 * replaced whole by a `rewrite` template filled from the route's parameters.
 */
import { encodePathText, type PathPattern } from "./path-pattern.ts";

/** Turns the normalised request path (no query) into the path to forward. */
export type PathRewriter = (path: string, pattern: PathPattern) => string;

const unchanged: PathRewriter = (path) => path;

/** Builds the rewriter for a route; throws when the template names an unknown parameter. */
export function compileRewrite(
  options: { stripPrefix?: string; rewrite?: string },
  patterns: readonly PathPattern[],
): PathRewriter {
  if (options.stripPrefix !== undefined && options.rewrite !== undefined) {
    throw new Error("set stripPrefix or rewrite, not both");
  }
  if (options.stripPrefix !== undefined) {
    checkLiteral("stripPrefix", options.stripPrefix);
    return stripPrefix(encodePath(options.stripPrefix));
  }
  if (options.rewrite !== undefined) {
    checkLiteral("rewrite", options.rewrite);
    return template(options.rewrite, patterns);
  }
  return unchanged;
}

// The path is compared and built in normalised form, and the client's query is appended
// after it, so `%`, `?` and `#` written here would be read twice or end the path early.
function checkLiteral(field: string, text: string): void {
  if (/[%?#]/.test(text))
    throw new Error(`${field} "${text}" must be a path written decoded, without %, ? or #`);
  if (text.split("/").some(makesDotSegment))
    throw new Error(
      `${field} "${text}" must not make a dot segment (. or ..): the upstream would resolve it`,
    );
}

/**
 * Whether a segment of a prefix or template is, or may be filled into, `.` or `..`. A
 * parameter is filled with a whole segment of the normalised path, never empty or a dot
 * segment; the wildcard may be empty or start or end with `/`, so dots written right
 * beside it (`/x/..*`, `/x/*..`) are a dot segment for some request.
 */
function makesDotSegment(segment: string): boolean {
  if (!segment.includes("*")) return segment === "." || segment === "..";
  const pieces = segment.split("*");
  return pieces.some((piece) => piece === "." || piece === "..");
}

/** A decoded path written in config, spelt as a normalised request path spells it. */
function encodePath(text: string): string {
  return text.split("/").map(encodePathText).join("/");
}

function stripPrefix(prefix: string): PathRewriter {
  if (prefix === "/") return unchanged;
  const length = prefix.length;
  return (path) => {
    if (!path.startsWith(prefix)) return path;
    if (path.length === length) return "/";
    return path.charCodeAt(length) === 47 ? path.slice(length) : path;
  };
}

type Part = string | { group: (pattern: PathPattern) => number };

function template(text: string, patterns: readonly PathPattern[]): PathRewriter {
  const parts: Part[] = [];
  const token = /:([A-Za-z_][A-Za-z0-9_]*)|\*/g;
  let last = 0;
  for (let m = token.exec(text); m !== null; m = token.exec(text)) {
    if (m.index > last) parts.push(encodePath(text.slice(last, m.index)));
    const name = m[1];
    for (const pattern of patterns) {
      const ok =
        name === undefined
          ? pattern.segments.at(-1)?.kind === "wildcard"
          : pattern.paramNames.includes(name);
      if (!ok)
        throw new Error(
          `rewrite uses ${name ? `:${name}` : "*"} but path "${pattern.source}" has no such part`,
        );
    }
    parts.push({
      group:
        name === undefined
          ? (pattern) => pattern.paramNames.length + 1
          : (pattern) => pattern.paramNames.indexOf(name) + 1,
    });
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(encodePath(text.slice(last)));
  return (path, pattern) => {
    const match = pattern.regex.exec(path);
    if (!match) return path;
    let out = "";
    for (const part of parts)
      out += typeof part === "string" ? part : (match[part.group(pattern)] ?? "");
    return out;
  };
}
