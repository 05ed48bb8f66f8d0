/**
 * @module admin/http
 * The admin API's HTTP plumbing: JSON bodies in (bounded), JSON answers out, errors in the
 * gateway's one error shape with the catalogue's codes, and the config version as ETag.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { maxNestingDepth, nestsDeeperThan } from "../config/nesting.ts";
import { type ErrorCode, errorCatalogue } from "../errors.ts";

/** An admin request that cannot be served; answered with the catalogue's status for `code`. */
export class AdminError extends Error {
  readonly code: ErrorCode;
  readonly problems: string[] | undefined;
  /** Headers the answer needs (`Allow` on a 405). */
  readonly headers: Record<string, string>;
  constructor(
    code: ErrorCode,
    message?: string,
    problems?: string[],
    headers: Record<string, string> = {},
  ) {
    super(message ?? errorCatalogue[code].message);
    this.name = "AdminError";
    this.code = code;
    this.problems = problems;
    this.headers = headers;
  }
}

/** Sends `body` as JSON (nothing for 204), with `headers`. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (status === 204) {
    res.writeHead(204, headers);
    res.end();
    return;
  }
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(res.req.method === "HEAD" ? undefined : text);
}

/** Answers with the error body every Gatehouse error has, plus `problems` when there are some. */
export function sendError(res: ServerResponse, error: AdminError, requestId: string): void {
  const { code, message, problems } = error;
  const body = { error: { code, message, requestId, ...(problems && { problems }) } };
  const headers: Record<string, string> = { ...error.headers };
  if (code === "GATEHOUSE_ADMIN_UNAUTHORIZED")
    headers["www-authenticate"] = 'Bearer realm="gatehouse-admin"';
  sendJson(res, errorCatalogue[code].status, body, headers);
}

/**
 * Reads a body of at most `limit` bytes: JSON, or YAML when the client says so (`PUT
 * /config` with a config file as it is).
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (limit > 0 && declared > limit) throw new AdminError("GATEHOUSE_BODY_TOO_LARGE");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (limit > 0 && size > limit) throw new AdminError("GATEHOUSE_BODY_TOO_LARGE");
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  const yaml = /\b(application|text)\/(x-)?yaml\b/.test(req.headers["content-type"] ?? "");
  const format = yaml ? "YAML" : "JSON";
  if (text.trim() === "")
    throw new AdminError("GATEHOUSE_ADMIN_BAD_REQUEST", `the request needs a ${format} body`);
  let body: unknown;
  try {
    body = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    // The YAML parser gives up on nesting too deep for its stack (JSON.parse never does).
    if (error instanceof YAMLParseError && error.code === "RESOURCE_EXHAUSTION")
      throw tooDeep(format);
    throw new AdminError(
      "GATEHOUSE_ADMIN_BAD_REQUEST",
      `the body is not ${format}: ${(error as Error).message}`,
    );
  }
  // Everything after this (validation, redaction, merge patch, diff) walks the body recursively.
  if (nestsDeeperThan(body)) throw tooDeep(format);
  return body;
}

const tooDeep = (format: string) =>
  new AdminError(
    "GATEHOUSE_BODY_TOO_DEEP",
    `the ${format} body nests lists and maps more than ${maxNestingDepth} levels deep`,
  );

/** A strong ETag for a config version. */
export const versionTag = (version: number) => `"${version}"`;

/** The version an `If-Match` header names; undefined without one (or with `*`). */
export function ifMatchVersion(req: IncomingMessage): number | undefined {
  const header = req.headers["if-match"];
  if (header === undefined || header.trim() === "*") return undefined;
  const match = /^\s*(?:W\/)?"?(\d+)"?\s*$/.exec(header);
  if (!match)
    throw new AdminError(
      "GATEHOUSE_ADMIN_BAD_REQUEST",
      `If-Match must be a config version ETag such as "7", not ${header}`,
    );
  return Number(match[1]);
}
