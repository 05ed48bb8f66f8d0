/**
 * @module plugins/transform/template
 * Value templates of the transformer plugins: text with `$(source.name)` references to the
 * request (`$(path.id)`, `$(consumer.name)`, `$(claims.sub)`, `$(client.ip)`,
 * `$(header.x-foo)`, `$(query.page)`, `$(request.id)`), compiled once at config load into
 * parts, so a request only concatenates. `$$` is a literal `$`.
 */
import type { RequestContext } from "../../pipeline/context.ts";
import { claimHeaderValue, tokenClaims } from "../auth/token-claims.ts";

/** Reads one value of the request; undefined when the request has none. */
type Reader = (ctx: RequestContext) => string | undefined;

/** A compiled template: its literal text when it references nothing, else its reader. */
export interface Template {
  /** The text itself, for a template with no references. */
  readonly constant: string | undefined;
  /**
   * The text for this request; undefined when a value it references is missing (no such
   * header, no consumer), so the edit that uses it is skipped rather than half filled.
   */
  render(ctx: RequestContext): string | undefined;
}

/** The sources a template may name, each with what its name selects. */
const sources: Record<string, (name: string) => Reader> = {
  path: (name) => (ctx) => ctx.params[name],
  query: (name) => (ctx) => queryValue(ctx.query, name),
  header: (name) => {
    const lower = name.toLowerCase();
    return (ctx) => {
      const value = ctx.headers[lower];
      return Array.isArray(value) ? value.join(", ") : value;
    };
  },
  claims: (name) => {
    const steps = name.split(".");
    return (ctx) => {
      let value: unknown = tokenClaims(ctx);
      for (const step of steps) {
        if (value === null || typeof value !== "object") return undefined;
        value = (value as Record<string, unknown>)[step];
      }
      return claimHeaderValue(value);
    };
  },
  consumer: (name) => {
    if (name === "name") return (ctx) => ctx.consumer?.name;
    if (name === "groups") return (ctx) => ctx.consumer?.groups.join(",");
    throw new Error(`$(consumer.${name}): a consumer has "name" and "groups"`);
  },
  client: (name) => {
    if (name === "ip") return (ctx) => ctx.clientAddress;
    throw new Error(`$(client.${name}): the client has "ip"`);
  },
  request: (name) => {
    if (name === "id") return (ctx) => ctx.requestId;
    if (name === "method") return (ctx) => ctx.method;
    if (name === "path") return (ctx) => ctx.path;
    throw new Error(`$(request.${name}): the request has "id", "method" and "path"`);
  },
};

const reference = /\$\$|\$\(([^)]*)\)|\$/g;

/**
 * Compiles a template; throws an Error whose message says what is wrong (an unknown
 * source, an unclosed `$(`, an empty name), which the schema reports at the value's line.
 * `encode` spells each value read from the request for where the text goes (a path).
 */
export function compileTemplate(text: string, encode?: (value: string) => string): Template {
  const parts: (string | Reader)[] = [];
  let literal = "";
  let last = 0;
  for (const m of text.matchAll(reference)) {
    literal += text.slice(last, m.index);
    last = m.index + m[0].length;
    if (m[0] === "$$") {
      literal += "$";
      continue;
    }
    if (m[0] === "$") {
      // A lone `$` is text, but `$(` with no `)` is a reference left open.
      if (text[m.index + 1] === "(") throw new Error(`"${text}": $( is not closed with )`);
      literal += "$";
      continue;
    }
    if (literal !== "") parts.push(literal);
    literal = "";
    const read = readerOf(m[1]!.trim());
    parts.push(
      encode
        ? (ctx) => {
            const value = read(ctx);
            return value === undefined ? undefined : encode(value);
          }
        : read,
    );
  }
  literal += text.slice(last);
  if (literal !== "") parts.push(literal);
  if (parts.every((part) => typeof part === "string")) {
    const constant = parts.join("");
    return { constant, render: () => constant };
  }
  if (parts.length === 1) return { constant: undefined, render: parts[0] as Reader };
  return {
    constant: undefined,
    render(ctx) {
      let out = "";
      for (const part of parts) {
        if (typeof part === "string") out += part;
        else {
          const value = part(ctx);
          if (value === undefined) return undefined;
          out += value;
        }
      }
      return out;
    },
  };
}

function readerOf(reference: string): Reader {
  const dot = reference.indexOf(".");
  const source = dot === -1 ? reference : reference.slice(0, dot);
  const name = dot === -1 ? "" : reference.slice(dot + 1);
  const make = Object.hasOwn(sources, source) ? sources[source] : undefined;
  if (!make) {
    throw new Error(
      `$(${reference}): unknown source "${source}"; use ${Object.keys(sources).join(", ")}`,
    );
  }
  if (name === "")
    throw new Error(`$(${reference}): name what of "${source}", e.g. $(${source}.x)`);
  return make(name);
}

/** The first value of query argument `name` in a raw query (without `?`), decoded. */
export function queryValue(query: string, name: string): string | undefined {
  if (query === "") return undefined;
  for (const pair of query.split("&")) {
    const equals = pair.indexOf("=");
    const key = decodeQueryText(equals === -1 ? pair : pair.slice(0, equals));
    if (key === name) return equals === -1 ? "" : decodeQueryText(pair.slice(equals + 1));
  }
  return undefined;
}

/** Query text decoded as a form does (`+` is a space); kept as it is where it does not decode. */
export function decodeQueryText(text: string): string {
  if (!text.includes("%") && !text.includes("+")) return text;
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    return text;
  }
}

/** The problem with a template, for a schema's refinement; undefined when it compiles. */
export function templateProblem(text: string): string | undefined {
  try {
    compileTemplate(text);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
