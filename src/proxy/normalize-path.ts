/**
 * @module proxy/normalize-path
 * One canonical form of the request path, computed once: the router, any access check
 * and the upstream all see this same string, so `/a/%2e%2e/admin` cannot route as one
 * path and be served as another.
 */

/** How `%2F`, `%5C` and a raw `\` are treated. */
export type EncodedSlashPolicy = "reject" | "decode" | "keep";

export interface NormalizeOptions {
  encodedSlashes: EncodedSlashPolicy;
  mergeSlashes: boolean;
}

/** The normalised path, or null when the path must be rejected. */
export function normalizePath(raw: string, options: NormalizeOptions): string | null {
  if (raw.charCodeAt(0) !== 47) return null;
  let needsWork = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f || c === 35 /* # */) return null;
    if (c === 37 /* % */ || c === 92 /* \ */ || notInPath[c] === 1) needsWork = true;
    else if (c === 47 && i + 1 < raw.length) {
      const next = raw.charCodeAt(i + 1);
      if (next === 46 /* . */ || (next === 47 && options.mergeSlashes)) needsWork = true;
    }
  }
  return needsWork ? slowNormalize(raw, options) : raw;
}

const hex = "0123456789ABCDEF";

/**
 * Printable ASCII that RFC 3986 does not allow raw in a path. Encoded here, so `"` and
 * `%22` are one path, in the same form a route's literal is compared in.
 */
const notInPath = new Uint8Array(128);
for (const char of '"<>[]^`{|}') notInPath[char.charCodeAt(0)] = 1;

function slowNormalize(raw: string, options: NormalizeOptions): string | null {
  let decoded = "";
  let keptSlash = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 92) {
      if (options.encodedSlashes === "reject") return null;
      if (options.encodedSlashes === "decode") decoded += "/";
      else {
        decoded += "%5C";
        keptSlash = true;
      }
    } else if (c === 37) {
      const value = Number.parseInt(raw.slice(i + 1, i + 3), 16);
      if (!/^[0-9A-Fa-f]{2}$/.test(raw.slice(i + 1, i + 3)) || value === 0) return null;
      i += 2;
      if (value === 0x2f || value === 0x5c) {
        if (options.encodedSlashes === "reject") return null;
        if (options.encodedSlashes === "decode") decoded += "/";
        else {
          decoded += `%${hex[value >> 4]}${hex[value & 15]}`;
          keptSlash = true;
        }
      } else if (isUnreserved(value)) {
        decoded += String.fromCharCode(value);
      } else {
        decoded += `%${hex[value >> 4]}${hex[value & 15]}`;
      }
    } else if (notInPath[c] === 1) {
      decoded += `%${hex[c >> 4]}${hex[c & 15]}`;
    } else {
      decoded += raw[i];
    }
  }
  const path = removeDotSegments(decoded, options.mergeSlashes);
  return path !== null && keptSlash && hidesDotSegment(path) ? null : path;
}

/**
 * Whether a kept `%2F` or `%5C` hides a dot segment (`/a/..%2Fadmin`, `/%5C..`): routed
 * here as one segment, it is a `..` to an upstream that decodes the slash (or takes `\`
 * for one), and no real path needs one.
 */
function hidesDotSegment(path: string): boolean {
  // Plain dot segments are gone already, so a match has a kept slash on one side.
  return path.includes(".") && dotBesideSlash.test(path);
}

const dotBesideSlash = /(?:\/|%2F|%5C)\.\.?(?:$|\/|%2F|%5C)/;

function isUnreserved(c: number): boolean {
  return (
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    (c >= 0x30 && c <= 0x39) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5f ||
    c === 0x7e
  );
}

/**
 * A dot segment with a `;` parameter (`..;x`, `.;`): servlet containers (Tomcat, Jetty)
 * drop the parameter and then take it as a dot segment, so `/public/..;/admin` would be
 * routed here under /public and served there as /admin. No real path needs one.
 */
const dotWithParameter = /^\.\.?;/;

/** RFC 3986 section 5.2.4, on a path that starts with `/`; null for a dot segment with `;`. */
function removeDotSegments(path: string, mergeSlashes: boolean): string | null {
  const input = path.slice(1).split("/");
  const output: string[] = [];
  for (let index = 0; index < input.length; index++) {
    const segment = input[index]!;
    const isLast = index === input.length - 1;
    if (segment.charCodeAt(0) === 46 && dotWithParameter.test(segment)) return null;
    if (segment === ".") {
      if (isLast) output.push("");
    } else if (segment === "..") {
      output.pop();
      if (isLast) output.push("");
    } else if (segment === "" && mergeSlashes && !isLast) {
      // an empty segment from `//`: dropped
    } else {
      output.push(segment);
    }
  }
  return `/${output.join("/")}`;
}
