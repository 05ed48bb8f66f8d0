/**
 * @module portal/service-document
 * A service's own OpenAPI document (`services[].openapi`): a file relative to the config
 * file, YAML or JSON, or an http(s) URL fetched with a timeout. The portal reads it once
 * per config (its catalog is rebuilt when the config changes); a failure is the service's
 * error in the portal, never the gateway's.
 */
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { parse } from "yaml";
import type { CheckContext } from "../config/load.ts";
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { PathProblem } from "../config/semantics.ts";

/** How long a URL may take to answer before the service shows an error instead. */
export const fetchTimeoutMs = 5_000;
/** A document larger than this is refused (the portal keeps it in memory). */
const maxBytes = 10 * 1024 * 1024;

/** An OpenAPI document, walked as plain JSON. */
export type OpenApiDocument = Record<string, unknown> & {
  paths?: Record<string, Record<string, unknown>>;
  components?: Record<string, Record<string, unknown>>;
};

/**
 * A config check that reports nothing: with the portal on, it records the services'
 * document files as files the config depends on, so editing one makes a new config
 * version (the file provider watches it) and the portal reads it again. A file that
 * cannot be read is the service's error in the portal, not the config's.
 */
export function portalDocumentFiles(config: GatehouseConfig, context: CheckContext): PathProblem[] {
  if (!config.gateway.portal) return [];
  for (const service of config.services)
    if (service.openapi && !/^https?:\/\//i.test(service.openapi))
      context.dependsOn(resolve(context.baseDir, service.openapi));
  return [];
}

/**
 * Reads and parses the document `source` names. Throws an Error whose message says what
 * went wrong without naming the file or URL (the portal shows it to the public):
 * "cannot be fetched (HTTP 404)".
 */
export async function loadServiceDocument(
  source: string,
  baseDir: string,
): Promise<OpenApiDocument> {
  const text = /^https?:\/\//i.test(source)
    ? await fetchText(source)
    : await readFile(resolve(baseDir, source), "utf8").catch((error: NodeJS.ErrnoException) => {
        throw new Error(`cannot be read (${error.code ?? error.message})`);
      });
  let document: unknown;
  try {
    // YAML 1.2 is a superset of JSON: one parser reads both.
    document = parse(text, { maxAliasCount: 1000 });
  } catch (error) {
    throw new Error(`is neither YAML nor JSON (${(error as Error).message.split("\n")[0]})`);
  }
  if (!document || typeof document !== "object" || Array.isArray(document))
    throw new Error("is not an OpenAPI document");
  const { openapi, swagger, paths } = document as Record<string, unknown>;
  if (typeof openapi !== "string" || !openapi.startsWith("3."))
    throw new Error(
      `is not an OpenAPI 3 document (${swagger ? "Swagger 2.0 is not read" : "no openapi: 3.x field"})`,
    );
  if (paths !== undefined && (typeof paths !== "object" || paths === null))
    throw new Error("has paths that are not an object");
  return document as OpenApiDocument;
}

async function fetchText(url: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, {
      signal: AbortSignal.timeout(fetchTimeoutMs),
      headers: { accept: "application/json, application/yaml;q=0.9, */*;q=0.1" },
      redirect: "follow",
    });
  } catch (error) {
    const reason = (error as Error).name === "TimeoutError" ? "timed out" : "the connection failed";
    throw new Error(`cannot be fetched (${reason})`);
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new Error(`cannot be fetched (HTTP ${response.status})`);
  }
  const length = Number(response.headers.get("content-length") ?? 0);
  if (length > maxBytes) {
    await response.body?.cancel();
    throw new Error(`is larger than ${maxBytes} bytes`);
  }
  const text = await response.text();
  if (text.length > maxBytes) throw new Error(`is larger than ${maxBytes} bytes`);
  return text;
}
