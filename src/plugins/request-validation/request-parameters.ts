/**
 * @module plugins/request-validation/request-parameters
 * A request's parameter values as OpenAPI serialises them, read back into the strings (or
 * lists of strings) ajv then coerces to the schema's types. Supported: primitives and
 * arrays in every location, by their style (query: `form`, exploded `?id=1&id=2` or not
 * `?id=1,2`, `spaceDelimited`, `pipeDelimited`; path and header: `simple`, `1,2`; cookie:
 * `form`), objects in the query as `deepObject` (`?filter[color]=red`), and parameters
 * given as JSON (`content: application/json`). Other object styles are read as one string.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { ParameterLocation, ParameterSpec } from "./operations.ts";
import type { Problem } from "./validators.ts";

export type ParameterValues = Record<string, unknown>;

const delimiters: Record<string, string> = {
  form: ",",
  simple: ",",
  spaceDelimited: " ",
  pipeDelimited: "|",
};

/** The query's arguments by name, every value kept (`?id=1&id=2`), `+` read as a space. */
export function parseQuery(query: string): Map<string, string[]> {
  const values = new Map<string, string[]>();
  if (query === "") return values;
  for (const [name, value] of new URLSearchParams(query)) {
    const list = values.get(name);
    if (list) list.push(value);
    else values.set(name, [value]);
  }
  return values;
}

/** The Cookie header's pairs by name (the first of a repeated name wins, as browsers send). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq === -1) continue;
    const name = pair.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, pair.slice(eq + 1).trim());
  }
  return cookies;
}

/** One parameter's raw values (undefined when absent) as the value to validate. */
function parameterValue(
  parameter: ParameterSpec,
  raw: string[] | undefined,
  problems: Problem[],
): unknown {
  if (raw === undefined) return undefined;
  if (parameter.json) {
    try {
      return JSON.parse(raw[0]!);
    } catch {
      problems.push({
        in: parameter.in,
        pointer: `/${parameter.name}`,
        message: "is not valid JSON",
      });
      return undefined;
    }
  }
  if (!parameter.array) return raw.length === 1 ? raw[0] : raw;
  if (parameter.explode && parameter.style === "form") return raw;
  const delimiter = delimiters[parameter.style] ?? ",";
  return raw.flatMap((value) => (value === "" ? [] : value.split(delimiter)));
}

/** The query's `name[key]=value` arguments as an object. */
function deepObject(
  name: string,
  query: Map<string, string[]>,
): Record<string, string> | undefined {
  let object: Record<string, string> | undefined;
  const prefix = `${name}[`;
  for (const [key, values] of query) {
    if (!key.startsWith(prefix) || !key.endsWith("]")) continue;
    object ??= {};
    object[key.slice(prefix.length, -1)] = values[0]!;
  }
  return object;
}

/** What the request sends for one location's parameters, by their spec names. */
export interface RequestParameterSource {
  pathParams: Record<string, string>;
  query: Map<string, string[]>;
  headers: Readonly<IncomingHttpHeaders>;
  cookies: () => Map<string, string>;
}

export function parameterValues(
  location: ParameterLocation,
  parameters: readonly ParameterSpec[],
  source: RequestParameterSource,
  problems: Problem[],
): ParameterValues {
  const values: ParameterValues = {};
  for (const parameter of parameters) {
    if (parameter.in !== location) continue;
    let raw: string[] | undefined;
    if (location === "path") {
      const value = source.pathParams[parameter.name];
      raw = value === undefined ? undefined : [value];
    } else if (location === "query") {
      if (parameter.style === "deepObject") {
        const object = deepObject(parameter.name, source.query);
        if (object !== undefined) values[parameter.name] = object;
        continue;
      }
      raw = source.query.get(parameter.name);
    } else if (location === "header") {
      const value = source.headers[parameter.name.toLowerCase()];
      raw = value === undefined ? undefined : Array.isArray(value) ? value : [value];
    } else {
      const value = source.cookies().get(parameter.name);
      raw = value === undefined ? undefined : [value];
    }
    const value = parameterValue(parameter, raw, problems);
    if (value !== undefined) values[parameter.name] = value;
  }
  return values;
}
