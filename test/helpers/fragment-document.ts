/**
 * @module test/helpers/fragment-document
 * An OpenAPI fragment (what a plugin's `openapi()` hook returns) as a whole OpenAPI 3.1
 * document, checked the way a renderer would read it: valid against the OpenAPI 3.1 schema
 * (@readme/openapi-parser), every `$ref` resolving, operationIds unique; and a validator of
 * JSON values against any schema in it (ajv, JSON Schema 2020-12).
 */
import assert from "node:assert/strict";
import { compileErrors, validate as validateOpenApi } from "@readme/openapi-parser";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { OpenApiFragment } from "../../src/portal/openapi-fragment.ts";
import { type OpenApi, operationsOf, resolve } from "./openapi-conformance.ts";

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

/** The fragment in a document of its own, as the portal serves one. */
export function documentOf(fragment: OpenApiFragment): OpenApi {
  return {
    openapi: "3.1.0",
    info: { title: "fragment", version: "1" },
    servers: [{ url: "/" }],
    paths: fragment.paths,
    components: { schemas: fragment.schemas ?? {} },
  };
}

/** Asserts the document is valid OpenAPI 3.1 with resolvable refs and unique operationIds. */
export async function assertValidOpenApi(document: OpenApi): Promise<void> {
  const result = await validateOpenApi(structuredClone(document) as never);
  assert.ok(result.valid, result.valid ? "" : compileErrors(result));
  const refs = JSON.stringify(document).match(/"\$ref":"#[^"]*"/g) ?? [];
  for (const ref of refs) assert.ok(resolve(document, ref.slice(9, -1)), `${ref} resolves`);
  const ids = operationsOf(document).map(({ operation }) => operation.operationId);
  assert.equal(new Set(ids).size, ids.length, "operationIds are unique");
}

/** Validates values against the schema at a JSON pointer of the document. */
export function schemaValidator(document: OpenApi) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addSchema(document, "document");
  const compiled = (pointer: string) => {
    const validate = ajv.getSchema(`document#${pointer}`);
    assert.ok(validate, `no schema at ${pointer}`);
    return validate;
  };
  return {
    /** Asserts `value` is valid, showing ajv's reasons when not. */
    assertValid(pointer: string, value: unknown, what = pointer): void {
      const validate = compiled(pointer);
      const reasons = validate(value) ? "" : ajv.errorsText(validate.errors);
      assert.equal(reasons, "", `${what}: ${JSON.stringify(value)}`);
    },
    isValid: (pointer: string, value: unknown): boolean => compiled(pointer)(value) === true,
  };
}
