/**
 * @module test/helpers/openapi-conformance
 * Checks real admin API answers against an OpenAPI 3.1 document: the status is one the
 * document lists for the path and method, the headers it names are there, and the body
 * validates (ajv, JSON Schema 2020-12) against the schema it gives; a request body the
 * server took validates against the documented request body. Records which statuses each
 * operation answered, so a test can tell which it never exercised.
 */
import assert from "node:assert/strict";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import { parse as parseYaml } from "yaml";
import type { AdminAnswer, AdminGateway } from "./admin.ts";

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is walked as plain JSON
export type Node = Record<string, any>;
export interface OpenApi extends Node {
  paths: Record<string, Record<string, Node>>;
}

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

/** A JSON pointer (as a URI fragment) from its segments. */
export const pointerOf = (...segments: (string | number)[]) =>
  segments
    .map(
      (segment) =>
        `/${encodeURIComponent(String(segment).replace(/~/g, "~0").replace(/\//g, "~1"))}`,
    )
    .join("");

/** The node `pointer` (URI-fragment form) names in `document`; undefined when none. */
export function resolve(document: Node, pointer: string | undefined): Node | undefined {
  if (pointer === undefined) return undefined;
  let node: unknown = document;
  for (const raw of pointer.split("/").slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (node === null || typeof node !== "object" || !(key in node)) return undefined;
    node = (node as Node)[key];
  }
  return node as Node;
}

/** Every operation of the document, with its path and (lower-case) method. */
export function operationsOf(
  document: OpenApi,
): { path: string; method: string; operation: Node }[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    methods
      .filter((method) => method in item)
      .map((method) => ({ path, method, operation: item[method]! })),
  );
}

/** The request and answer checker for one document. */
export function openApiConformance(document: OpenApi) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document, "openapi");
  /** "get /routes/{name}" → every status it answered. */
  const answered = new Map<string, Set<number>>();

  function schemaAt(pointer: string) {
    const validate = ajv.getSchema(`openapi#${pointer}`);
    assert.ok(validate, `no schema at ${pointer}`);
    return validate;
  }

  function templateOf(path: string): string | undefined {
    const trimmed = path.length > 1 ? path.replace(/\/$/, "") : path;
    return Object.keys(document.paths).find((template) => {
      const pattern = template.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+");
      return new RegExp(`^${pattern}$`).test(trimmed);
    });
  }

  /** `answer` conforms to the response at `pointer` (followed when it is a `$ref`). */
  function conforms(pointer: string, answer: AdminAnswer, what: string): void {
    let at = pointer;
    let response = resolve(document, at)!;
    if (typeof response.$ref === "string") {
      at = response.$ref.slice(1);
      response = resolve(document, at)!;
    }
    for (const name of Object.keys(response.headers ?? {}))
      assert.ok(answer.headers[name.toLowerCase()], `no ${name} header: ${what}`);
    if (!response.content) {
      assert.equal(answer.text, "", `no body documented: ${what}`);
      return;
    }
    const type = String(answer.headers["content-type"]).split(";")[0]!;
    assert.ok(response.content[type], `content type ${type} not documented: ${what}`);
    const body = type === "application/yaml" ? parseYaml(answer.text) : JSON.parse(answer.text);
    const validate = schemaAt(`${at}/content${pointerOf(type)}/schema`);
    assert.ok(validate(body), `${what}\n${ajv.errorsText(validate.errors)}`);
  }

  function requestConforms(at: string, operation: Node, body: unknown, type: string): void {
    assert.ok(operation.requestBody?.content?.[type], `request body ${type} not documented: ${at}`);
    const sent = typeof body === "string" ? parseYaml(body) : body;
    const validate = schemaAt(`${at}/requestBody/content${pointerOf(type)}/schema`);
    assert.ok(validate(sent), `request body of ${at}: ${ajv.errorsText(validate.errors)}`);
  }

  /**
   * Sends one admin request, asserts its status is `expected` and that the answer conforms
   * to the document: to the operation's response for that status, or to the document's
   * NotFound / MethodNotAllowed answers for a path or method it does not have.
   */
  async function call(
    gw: AdminGateway,
    method: string,
    path: string,
    expected: number,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<AdminAnswer> {
    const answer = await gw.admin(method, path, body, headers);
    const what = `${method} ${path} → ${answer.status} ${answer.text.slice(0, 400)}`;
    assert.equal(answer.status, expected, what);
    const template = templateOf(path.split("?")[0]!);
    const lower = method.toLowerCase();
    const operation = template ? document.paths[template]![lower] : undefined;
    if (!template) {
      conforms("/components/responses/NotFound", answer, what);
      return answer;
    }
    if (!operation) {
      assert.equal(answer.status, 405, what);
      conforms("/components/responses/MethodNotAllowed", answer, what);
      return answer;
    }
    const key = `${lower} ${template}`;
    answered.set(key, (answered.get(key) ?? new Set()).add(answer.status));
    assert.ok(operation.responses[String(answer.status)], `status not documented: ${what}`);
    conforms(pointerOf("paths", template, lower, "responses", answer.status), answer, what);
    if (answer.status < 300 && body !== undefined) {
      const type = headers["content-type"] ?? "application/json";
      requestConforms(pointerOf("paths", template, lower), operation, body, type);
    }
    return answer;
  }

  return { call, conforms, answered };
}
