/**
 * @module plugins/compression/negotiate
 * Picks the content coding of a response from the client's `Accept-Encoding` (RFC 9110
 * section 12.5.3) and the server's preference order: the coding the client rates highest
 * wins, ties go to the server's order, `q=0` refuses, `*` rates every coding not named,
 * and an `identity` the client rates higher than every coding keeps the response as it is.
 */

/** A content coding the gateway compresses with. */
export type Encoding = "br" | "zstd" | "gzip";

/** How many distinct Accept-Encoding values one plugin instance remembers its choice for. */
const cacheSize = 256;

/** A negotiator for one preference order; remembers its answer per header value. */
export function createNegotiator(
  preference: readonly Encoding[],
): (acceptEncoding: string | undefined) => Encoding | undefined {
  // Clients send few distinct values ("gzip, deflate, br, zstd"): parse each once.
  const cache = new Map<string, Encoding | null>();
  return (acceptEncoding) => {
    if (acceptEncoding === undefined || acceptEncoding === "") return undefined;
    const known = cache.get(acceptEncoding);
    if (known !== undefined) return known ?? undefined;
    const chosen = negotiate(acceptEncoding, preference);
    if (cache.size >= cacheSize) cache.clear();
    cache.set(acceptEncoding, chosen ?? null);
    return chosen;
  };
}

/**
 * The coding to send for `acceptEncoding`, or undefined for the response as it is. With no
 * header at all, a client is sent the response as it is: RFC 9110 allows any coding then,
 * but a client that names none is safer assumed to decode none.
 */
export function negotiate(
  acceptEncoding: string,
  preference: readonly Encoding[],
): Encoding | undefined {
  const rated = parseAcceptEncoding(acceptEncoding);
  const wildcard = rated.get("*");
  let best: Encoding | undefined;
  let bestQ = 0;
  for (const encoding of preference) {
    const q = rated.get(encoding) ?? wildcard ?? 0;
    // Strictly greater: on a tie the earlier (preferred) coding stays.
    if (q > bestQ) {
      best = encoding;
      bestQ = q;
    }
  }
  if (best === undefined) return undefined;
  // Only an identity the client names (itself or by `*`) can outrank a coding it named.
  const identity = rated.get("identity") ?? wildcard;
  return identity !== undefined && identity > bestQ ? undefined : best;
}

/** Each coding named in the header, lower-cased, with its q-value (1 when none is given). */
export function parseAcceptEncoding(value: string): Map<string, number> {
  const rated = new Map<string, number>();
  for (const part of value.split(",")) {
    const semicolon = part.indexOf(";");
    let name = (semicolon === -1 ? part : part.slice(0, semicolon)).trim().toLowerCase();
    if (name === "") continue;
    if (name === "x-gzip") name = "gzip";
    const q = semicolon === -1 ? 1 : qValue(part.slice(semicolon + 1));
    // A malformed q-value is ignored with its coding, rather than read as a preference.
    if (q === undefined) continue;
    // Named twice: the higher rating stands.
    rated.set(name, Math.max(q, rated.get(name) ?? 0));
  }
  return rated;
}

/** The `q=` weight among a coding's parameters: 1 when absent, undefined when malformed. */
function qValue(parameters: string): number | undefined {
  for (const parameter of parameters.split(";")) {
    const equals = parameter.indexOf("=");
    if (equals === -1 || parameter.slice(0, equals).trim().toLowerCase() !== "q") continue;
    const text = parameter.slice(equals + 1).trim();
    if (!/^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(text)) return undefined;
    return Number(text);
  }
  return 1;
}
