/**
 * @module router/api-version
 * Reads the API version a request asks for, as `gateway.versioning` says: a header, a
 * media type in `Accept`, a leading path segment or a query argument. Compiled once; a
 * config without versioning compiles to nothing, so its requests pay nothing.
 */
import type { GatehouseConfig } from "../config/schema/index.ts";

type Versioning = NonNullable<GatehouseConfig["gateway"]["versioning"]>;
type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** What a request asks for: its version (or the default) and the path routes are matched on. */
export interface VersionedRequest {
  version: string | undefined;
  /** The path without the version segment in path mode; else the path as it came. */
  path: string;
}

/** Reads a request's version; `path` is normalised, `rawQuery` without its `?`. */
export type VersionReader = (path: string, headers: Headers, rawQuery: string) => VersionedRequest;

const versionChars = "([A-Za-z0-9._-]+)";
const digitFirst = "([0-9][A-Za-z0-9._-]*)";

/** The reader for a config's versioning, or undefined when it has none. */
export function compileVersionReader(
  versioning: Versioning | undefined,
): VersionReader | undefined {
  if (!versioning) return undefined;
  const fallback = versioning.default;
  if (versioning.header !== undefined) {
    const name = versioning.header.toLowerCase();
    return (path, headers) => {
      const value = headers[name];
      const given = typeof value === "string" ? value.trim() : value?.[0]?.trim();
      return { version: given || fallback, path };
    };
  }
  if (versioning.accept !== undefined) {
    // The media type may be one of several in Accept, with parameters: match it anywhere
    // between commas, case-insensitively as media types are.
    const regex = new RegExp(`(?:^|,)\\s*${templateSource(versioning.accept)}\\s*(?:;|,|$)`, "i");
    return (path, headers) => {
      const accept = headers.accept;
      const found = typeof accept === "string" ? regex.exec(accept) : null;
      return { version: found ? found[1] : fallback, path };
    };
  }
  if (versioning.path !== undefined) {
    // Here a version starts with a digit, so that `/videos` is not version `ideos` of `/`.
    const regex = new RegExp(`^${templateSource(versioning.path, digitFirst)}(?=/|$)`);
    return (path) => {
      const found = regex.exec(path);
      if (!found) return { version: fallback, path };
      const rest = path.slice(found[0].length);
      return { version: found[1], path: rest === "" ? "/" : rest };
    };
  }
  const argument = versioning.query!;
  return (path, _headers, rawQuery) => {
    if (rawQuery === "") return { version: fallback, path };
    const given = new URLSearchParams(rawQuery).get(argument);
    return { version: given || fallback, path };
  };
}

/**
 * The request header answers depend on when the version is read from one (the versioning
 * header, or `Accept`), for their `Vary`; undefined in path and query modes, where the URL
 * itself tells versions apart.
 */
export function versionVaryHeader(versioning: Versioning | undefined): string | undefined {
  if (versioning?.header !== undefined) return versioning.header;
  return versioning?.accept !== undefined ? "Accept" : undefined;
}

/** A `{version}` template as regex source: the rest literal, the version captured. */
function templateSource(template: string, version = versionChars): string {
  const [before, after] = template.split("{version}") as [string, string];
  return literal(before) + version + literal(after);
}

const literal = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
