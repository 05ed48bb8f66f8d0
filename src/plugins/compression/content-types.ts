/**
 * @module plugins/compression/content-types
 * Which responses are worth compressing by their `Content-Type`: the patterns of the
 * config (`text/*`, `application/json`, `application/*+json`) compiled once into a set of
 * exact types, type prefixes and structured-syntax suffixes. Server-sent events are never
 * compressed, whatever the patterns say: a client reads each event as it arrives; nor is
 * gRPC or gRPC-Web, whose messages carry their own compression and framing.
 */

/** What a config pattern may be: `type/subtype`, `type/*`, `type/*+suffix` or `*\/*+suffix`. */
export const contentTypePattern =
  /^(?:[a-z0-9][a-z0-9!#$&^_.+-]*\/(?:\*|\*\+[a-z0-9!#$&^_.-]+|[a-z0-9][a-z0-9!#$&^_.+-]*)|\*\/(?:\*|\*\+[a-z0-9!#$&^_.-]+))$/i;

/**
 * The types compressed by default: text, JSON, XML, JavaScript, SVG and the other formats
 * that are text or uncompressed binary. Images, audio, video, fonts in WOFF and archives
 * are compressed already and are left out.
 */
export const defaultContentTypes: readonly string[] = [
  "text/*",
  "application/json",
  "application/*+json",
  "application/x-ndjson",
  "application/xml",
  "application/*+xml",
  "application/javascript",
  "application/x-javascript",
  "application/ecmascript",
  "application/graphql",
  "application/yaml",
  "application/x-yaml",
  "application/x-www-form-urlencoded",
  "application/wasm",
  "image/svg+xml",
  "image/x-icon",
  "image/bmp",
  "font/ttf",
  "font/otf",
];

/** Whether a response's `Content-Type` value is one of the patterns' types. */
export type ContentTypeTest = (contentType: string | undefined) => boolean;

/** Compiles patterns (checked by `contentTypePattern`, any case) into a test. */
export function compileContentTypes(patterns: readonly string[]): ContentTypeTest {
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const suffixes: { prefix: string; suffix: string }[] = [];
  let any = false;
  for (const pattern of patterns.map((text) => text.toLowerCase())) {
    const slash = pattern.indexOf("/");
    const major = pattern.slice(0, slash);
    const minor = pattern.slice(slash + 1);
    if (minor === "*") {
      if (major === "*") any = true;
      else prefixes.push(`${major}/`);
    } else if (minor.startsWith("*+")) {
      suffixes.push({ prefix: major === "*" ? "" : `${major}/`, suffix: minor.slice(1) });
    } else exact.add(pattern);
  }
  return (contentType) => {
    if (contentType === undefined) return false;
    const type = mediaType(contentType);
    if (type === "" || type === "text/event-stream" || type.startsWith("application/grpc")) {
      return false;
    }
    if (any || exact.has(type)) return true;
    for (const prefix of prefixes) if (type.startsWith(prefix)) return true;
    for (const { prefix, suffix } of suffixes) {
      if (type.endsWith(suffix) && type.startsWith(prefix)) return true;
    }
    return false;
  };
}

/** The media type of a Content-Type value, lower case, without its parameters. */
export function mediaType(contentType: string): string {
  const semicolon = contentType.indexOf(";");
  const type = semicolon === -1 ? contentType : contentType.slice(0, semicolon);
  return type.trim().toLowerCase();
}
