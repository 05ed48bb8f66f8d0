/**
 * @module plugins/request-validation/validators
 * The ajv validators of a spec, compiled once at load: per operation, one for each
 * parameter location (an object of the parameters' values, strings coerced to the schema's
 * types as OpenAPI parameters are), one per JSON request media type and, when responses
 * are checked, one per response status and JSON media type. Every file of the spec is given
 * to ajv under its own URI, so `$ref`s (local, or to another file) resolve as written. 3.0
 * documents are compiled as draft-07 after schema-dialect's rewrite; 3.1 as 2020-12.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { Ajv2020 } from "ajv/dist/2020.js";
import formats from "ajv-formats";
import type { MediaSpec, OperationSpec, ParameterLocation } from "./operations.ts";
import { pointerFragment, SpecError, SpecFiles, type SpecPlace } from "./spec-files.ts";

/** Where a problem is: a parameter location, the request body, or the upstream's response. */
export type ProblemLocation = ParameterLocation | "body" | "response";

/** One way the request (or response) differs from the spec. */
export interface Problem {
  in: ProblemLocation;
  /** JSON pointer into the parameter (`/page`) or the body (`/items/0/qty`); "" is the whole body. */
  pointer: string;
  message: string;
}

export interface CompiledMedia extends MediaSpec {
  validate: ValidateFunction | undefined;
}

export interface CompiledOperation {
  spec: OperationSpec;
  parameters: Partial<Record<ParameterLocation, ValidateFunction>>;
  body: CompiledMedia[];
  responses: Map<string, CompiledMedia[]>;
}

/** Whether a media type's body is JSON (`application/json`, `application/problem+json`). */
export function isJsonMediaType(type: string): boolean {
  return type === "application/json" || type.endsWith("+json");
}

function createAjv(version: "3.0" | "3.1", files: SpecFiles, coerce: boolean): Ajv {
  const options = {
    strict: false,
    allErrors: true,
    validateSchema: false,
    logger: false as const,
    coerceTypes: coerce ? ("array" as const) : false,
  };
  const ajv = version === "3.1" ? new Ajv2020(options) : new Ajv(options);
  formats.default(ajv);
  // OpenAPI's own formats: the integer ranges are checked, the rest are descriptions.
  ajv.addFormat("int32", {
    type: "number",
    validate: (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** 31,
  });
  ajv.addFormat("int64", { type: "number", validate: (n: number) => Number.isInteger(n) });
  for (const name of ["float", "double", "byte", "binary", "password"]) ajv.addFormat(name, true);
  for (const file of files.files()) ajv.addSchema(files.load(file) as object, SpecFiles.uri(file));
  return ajv;
}

const refTo = (place: SpecPlace) => ({
  $ref: `${SpecFiles.uri(place.file)}#${pointerFragment(place.path)}`,
});

/** Compiles the validators of every operation; a schema ajv cannot compile is a SpecError. */
export function compileOperations(
  version: "3.0" | "3.1",
  files: SpecFiles,
  operations: readonly OperationSpec[],
  responses: boolean,
): CompiledOperation[] {
  const plain = createAjv(version, files, false);
  const coercing = createAjv(version, files, true);
  const compile = (ajv: Ajv, schema: object, at: SpecPlace): ValidateFunction => {
    try {
      return ajv.compile(schema);
    } catch (error) {
      throw new SpecError(
        files.problem(at, `schema does not compile: ${(error as Error).message}`),
      );
    }
  };
  const compileMedia = (media: MediaSpec[]): CompiledMedia[] =>
    media.map((entry) => ({
      ...entry,
      validate:
        entry.schema && (isJsonMediaType(entry.type) || entry.type.includes("*"))
          ? compile(plain, refTo(entry.schema), entry.schema)
          : undefined,
    }));
  return operations.map((spec) => {
    const parameters: CompiledOperation["parameters"] = {};
    for (const location of ["path", "query", "header", "cookie"] as const) {
      const list = spec.parameters.filter((parameter) => parameter.in === location);
      if (list.length === 0) continue;
      const properties: Record<string, object> = {};
      for (const parameter of list)
        properties[parameter.name] = parameter.schema ? refTo(parameter.schema) : {};
      const required = list
        .filter((parameter) => parameter.required)
        .map((parameter) => parameter.name);
      parameters[location] = compile(
        coercing,
        { type: "object", properties, required },
        spec.place,
      );
    }
    const compiledResponses = new Map<string, CompiledMedia[]>();
    if (responses) {
      for (const [status, media] of spec.responses)
        compiledResponses.set(status, compileMedia(media));
    }
    return {
      spec,
      parameters,
      body: compileMedia(spec.body?.media ?? []),
      responses: compiledResponses,
    };
  });
}

const pointerSegment = (name: string) => name.replaceAll("~", "~0").replaceAll("/", "~1");

/** ajv's errors as problems at `location`; `missing` names a required value that is absent. */
export function problemsOf(
  errors: ErrorObject[] | null | undefined,
  location: ProblemLocation,
): Problem[] {
  if (!errors) return [];
  const problems: Problem[] = [];
  for (const error of errors) {
    // A failed `anyOf`/`oneOf` branch repeats what its own keywords said: keep those only.
    if (error.keyword === "if") continue;
    if (error.keyword === "required") {
      const missing = (error.params as { missingProperty: string }).missingProperty;
      problems.push({
        in: location,
        pointer: `${error.instancePath}/${pointerSegment(missing)}`,
        message: "is required",
      });
      continue;
    }
    if (error.keyword === "additionalProperties") {
      const extra = (error.params as { additionalProperty: string }).additionalProperty;
      problems.push({
        in: location,
        pointer: `${error.instancePath}/${pointerSegment(extra)}`,
        message: "is not allowed",
      });
      continue;
    }
    problems.push({
      in: location,
      pointer: error.instancePath,
      message: error.message ?? error.keyword,
    });
  }
  return problems;
}
