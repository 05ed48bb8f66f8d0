/**
 * @module plugins/request-validation/request-check
 * Checks one request (and one response) against its compiled operation: the parameters
 * of every location, the body's media type against the spec's, and a JSON body against
 * its schema. Each check adds to one list of problems, so the client hears of all of them.
 */
import type { IncomingHttpHeaders } from "node:http";
import { bareMediaType } from "./operations.ts";
import { parameterValues, parseCookies, parseQuery } from "./request-parameters.ts";
import {
  type CompiledMedia,
  type CompiledOperation,
  isJsonMediaType,
  type Problem,
  type ProblemLocation,
  problemsOf,
} from "./validators.ts";

/** The media entry a content type is sent as: exact, then `type/*`, then `*\/*`. */
export function matchMedia(
  media: readonly CompiledMedia[],
  contentType: string,
): CompiledMedia | undefined {
  const type = bareMediaType(contentType);
  const family = `${type.slice(0, type.indexOf("/"))}/*`;
  return (
    media.find((entry) => entry.type === type) ??
    media.find((entry) => entry.type === family) ??
    media.find((entry) => entry.type === "*/*")
  );
}

/** The problems of a request's path, query, header and cookie parameters. */
export function checkParameters(
  operation: CompiledOperation,
  pathParams: Record<string, string>,
  query: string,
  headers: Readonly<IncomingHttpHeaders>,
): Problem[] {
  const problems: Problem[] = [];
  let cookies: Map<string, string> | undefined;
  const source = {
    pathParams,
    query: parseQuery(query),
    headers,
    cookies: () => {
      cookies ??= parseCookies(headers.cookie);
      return cookies;
    },
  };
  for (const location of ["path", "query", "header", "cookie"] as const) {
    const validate = operation.parameters[location];
    if (!validate) continue;
    const values = parameterValues(location, operation.spec.parameters, source, problems);
    if (!validate(values)) problems.push(...problemsOf(validate.errors, location));
  }
  return problems;
}

/** What to do with the request's body: nothing, or read and check it as JSON with `media`. */
export type BodyPlan = { read: false } | { read: true; media: CompiledMedia };

/** Whether the request sends a body (a length above 0, or chunked). */
export function sendsBody(headers: Readonly<IncomingHttpHeaders>): boolean {
  const length = headers["content-length"];
  return headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/** The body's problems that need no reading (absent, or of a type the spec lacks), and the plan. */
export function planBody(
  operation: CompiledOperation,
  headers: Readonly<IncomingHttpHeaders>,
  problems: Problem[],
): BodyPlan {
  const body = operation.spec.body;
  if (!body) return { read: false };
  if (!sendsBody(headers)) {
    if (body.required) problems.push({ in: "body", pointer: "", message: "is required" });
    return { read: false };
  }
  if (operation.body.length === 0) return { read: false };
  const contentType = headers["content-type"] ?? "";
  const media = matchMedia(operation.body, contentType);
  if (!media) {
    const types = operation.body.map((entry) => entry.type).join(", ");
    problems.push({ in: "header", pointer: "/content-type", message: `must be one of: ${types}` });
    return { read: false };
  }
  if (!media.validate || !isJsonMediaType(bareMediaType(contentType))) return { read: false };
  return { read: true, media };
}

/** The problems of a JSON body (`in` is `body`, or `response` for an upstream's). */
export function checkJson(
  media: CompiledMedia,
  body: Buffer,
  location: ProblemLocation,
): Problem[] {
  let value: unknown;
  try {
    value = JSON.parse(body.toString("utf8"));
  } catch (error) {
    return [
      { in: location, pointer: "", message: `is not valid JSON: ${(error as Error).message}` },
    ];
  }
  const validate = media.validate!;
  return validate(value) ? [] : problemsOf(validate.errors, location);
}

/** The media a response's status is described with: exact, then `2XX`, then `default`. */
export function responseMedia(
  operation: CompiledOperation,
  status: number,
): CompiledMedia[] | undefined {
  const code = String(status);
  const responses = operation.responses;
  return responses.get(code) ?? responses.get(`${code[0]}XX`) ?? responses.get("DEFAULT");
}
