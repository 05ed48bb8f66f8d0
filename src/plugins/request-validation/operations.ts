/**
 * @module plugins/request-validation/operations
 * The operations of an OpenAPI document as the validator needs them: each one's method,
 * path template, parameters (the path item's merged with the operation's, refs followed,
 * OpenAPI's style/explode defaults applied), request body and responses, with the place
 * of every schema in the spec's files (what ajv compiles, by `$ref`).
 */
import { SpecError, type SpecFiles, type SpecPlace } from "./spec-files.ts";

export type ParameterLocation = "path" | "query" | "header" | "cookie";

export interface ParameterSpec {
  name: string;
  in: ParameterLocation;
  required: boolean;
  style: string;
  explode: boolean;
  /** The schema's top-level type is an array: the value is split (or repeated). */
  array: boolean;
  /** The value is JSON text (`content: { application/json: ... }`). */
  json: boolean;
  schema: SpecPlace | undefined;
}

export interface MediaSpec {
  /** The media type as written in the spec, lower-case, without parameters. */
  type: string;
  schema: SpecPlace | undefined;
}

export interface OperationSpec {
  method: string;
  /** The path template as the spec writes it (`/users/{id}`). */
  path: string;
  /** Where the operation is (its Operation Object). */
  place: SpecPlace;
  /** Where the path item is (for its parameters). */
  pathItem: SpecPlace;
  parameters: ParameterSpec[];
  body: { required: boolean; media: MediaSpec[] } | undefined;
  /** Media by status key as written (`200`, `2XX`, `default`); empty list: no content. */
  responses: Map<string, MediaSpec[]>;
}

export const httpMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];
const locations = new Set(["path", "query", "header", "cookie"]);
// OpenAPI: a header parameter with one of these names "SHALL be ignored".
const ignoredHeaders = new Set(["accept", "content-type", "authorization"]);

const child = (place: SpecPlace, ...keys: string[]): SpecPlace => ({
  file: place.file,
  path: [...place.path, ...keys],
});

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The media type without parameters, lower-case. */
export function bareMediaType(type: string): string {
  const semi = type.indexOf(";");
  return (semi === -1 ? type : type.slice(0, semi)).trim().toLowerCase();
}

function mediaOf(files: SpecFiles, container: SpecPlace): MediaSpec[] {
  const content = record(files.at(child(container, "content")));
  if (!content) return [];
  return Object.keys(content).map((type) => {
    const media = files.follow(child(container, "content", type));
    const hasSchema = record(media.value)?.schema !== undefined;
    return {
      type: bareMediaType(type),
      schema: hasSchema ? child(media.place, "schema") : undefined,
    };
  });
}

function isArraySchema(files: SpecFiles, place: SpecPlace | undefined): boolean {
  if (!place) return false;
  const type = record(files.follow(place).value)?.type;
  return type === "array" || (Array.isArray(type) && type.includes("array"));
}

function parameterOf(files: SpecFiles, at: SpecPlace): ParameterSpec | undefined {
  const { value, place } = files.follow(at);
  const parameter = record(value);
  const where = parameter?.in;
  if (
    !parameter ||
    typeof parameter.name !== "string" ||
    typeof where !== "string" ||
    !locations.has(where)
  ) {
    throw new SpecError(
      files.problem(place, "a parameter needs a `name` and `in` (path, query, header or cookie)"),
    );
  }
  if (where === "header" && ignoredHeaders.has(parameter.name.toLowerCase())) return undefined;
  const style =
    typeof parameter.style === "string"
      ? parameter.style
      : where === "query" || where === "cookie"
        ? "form"
        : "simple";
  const media = mediaOf(files, place);
  const schema = parameter.schema !== undefined ? child(place, "schema") : media[0]?.schema;
  return {
    name: parameter.name,
    in: where as ParameterLocation,
    required: where === "path" || parameter.required === true,
    style,
    explode: typeof parameter.explode === "boolean" ? parameter.explode : style === "form",
    array: isArraySchema(files, schema),
    json: parameter.schema === undefined && media.length > 0,
    schema,
  };
}

function parametersAt(files: SpecFiles, container: SpecPlace): ParameterSpec[] {
  const list = files.at(child(container, "parameters"));
  if (!Array.isArray(list)) return [];
  return list
    .map((_, i) => parameterOf(files, child(container, "parameters", String(i))))
    .filter((parameter) => parameter !== undefined);
}

function operationOf(
  files: SpecFiles,
  path: string,
  pathItem: SpecPlace,
  method: string,
): OperationSpec {
  const place = files.follow(child(pathItem, method)).place;
  // An operation's parameter replaces the path item's of the same name and location.
  const parameters = new Map<string, ParameterSpec>();
  for (const parameter of [...parametersAt(files, pathItem), ...parametersAt(files, place)]) {
    parameters.set(`${parameter.in}:${parameter.name}`, parameter);
  }
  const operation = record(files.at(place))!;
  let body: OperationSpec["body"];
  if (operation.requestBody !== undefined) {
    const requestBody = files.follow(child(place, "requestBody"));
    body = {
      required: record(requestBody.value)?.required === true,
      media: mediaOf(files, requestBody.place),
    };
  }
  const responses = new Map<string, MediaSpec[]>();
  for (const status of Object.keys(record(operation.responses) ?? {})) {
    const response = files.follow(child(place, "responses", status));
    responses.set(status.toUpperCase(), mediaOf(files, response.place));
  }
  return {
    method: method.toUpperCase(),
    path,
    place,
    pathItem,
    parameters: [...parameters.values()],
    body,
    responses,
  };
}

/** Every operation of the document at `files.root`. */
export function readOperations(files: SpecFiles): OperationSpec[] {
  const root: SpecPlace = { file: files.root, path: [] };
  const paths = record(files.at(child(root, "paths")));
  if (!paths) return [];
  const operations: OperationSpec[] = [];
  for (const path of Object.keys(paths)) {
    if (!path.startsWith("/")) {
      throw new SpecError(
        files.problem(child(root, "paths", path), `path "${path}" must start with /`),
      );
    }
    const item = files.follow(child(root, "paths", path));
    const methods = record(item.value) ?? {};
    for (const method of httpMethods) {
      if (methods[method] !== undefined)
        operations.push(operationOf(files, path, item.place, method));
    }
  }
  return operations;
}
