/**
 * @module admin/http
 * The admin API's HTTP plumbing: JSON bodies in (bounded), JSON answers out, and the
 * config version as ETag. Errors are GatehouseErrors, answered by proxy/respond.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { maxNestingDepth, nestsDeeperThan } from "../config/nesting.ts";
import { GatehouseError } from "../errors.ts";

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

/**
 * Reads a body of at most `limit` bytes: JSON, or YAML when the client says so (`PUT
 * /config` with a config file as it is).
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<unknown> {
  return parseBody(await readText(req, limit), isYamlType(req.headers["content-type"]));
}

/** Whether a Content-Type names YAML (else the body is JSON). */
export const isYamlType = (type: string | undefined) =>
  /\b(application|text)\/(x-)?yaml\b/.test(type ?? "");

/** The body as text, at most `limit` bytes. */
export async function readText(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? 0);
  if (limit > 0 && declared > limit) throw new GatehouseError("GATEHOUSE_BODY_TOO_LARGE");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (limit > 0 && size > limit) throw new GatehouseError("GATEHOUSE_BODY_TOO_LARGE");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** A body's text as JSON or YAML; a body that is empty, does not parse or nests too deep is refused. */
export function parseBody(text: string, yaml: boolean): unknown {
  const format = yaml ? "YAML" : "JSON";
  if (text.trim() === "")
    throw new GatehouseError("GATEHOUSE_ADMIN_BAD_REQUEST", `the request needs a ${format} body`);
  let body: unknown;
  try {
    body = yaml ? parseYaml(text) : JSON.parse(text);
  } catch (error) {
    // The YAML parser gives up on nesting too deep for its stack (JSON.parse never does).
    if (error instanceof YAMLParseError && error.code === "RESOURCE_EXHAUSTION")
      throw tooDeep(format);
    throw new GatehouseError(
      "GATEHOUSE_ADMIN_BAD_REQUEST",
      `the body is not ${format}: ${(error as Error).message}`,
    );
  }
  // Everything after this (validation, redaction, merge patch, diff) walks the body recursively.
  if (nestsDeeperThan(body)) throw tooDeep(format);
  return body;
}

const tooDeep = (format: string) =>
  new GatehouseError(
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
    throw new GatehouseError(
      "GATEHOUSE_ADMIN_BAD_REQUEST",
      `If-Match must be a config version ETag such as "7", not ${header}`,
    );
  return Number(match[1]);
}
