/**
 * @module portal/grpc-openapi-path
 * A `google.api.http` path template in OpenAPI form, with its path parameters. A variable
 * of one segment (`{shelf_id}`, `{name}`) keeps its name. A variable spanning several
 * segments (`{name=shelves/*\/books/*}`) is written out with one parameter per `*`
 * (`shelves/{shelves}/books/{books}`), named after the collection before it: a client must
 * send that variable's slashes as they are, and OpenAPI clients percent-encode a path
 * parameter's `/`, which the gateway refuses by default (gateway.paths.encodedSlashes).
 * A `**` stays one parameter that may hold slashes.
 */
import type { HttpBinding } from "../grpc/http-rule.ts";
import type { OpenApiSchema } from "./openapi-fragment.ts";

/** One path parameter, and the request field its value ends up in (when it is all of it). */
export interface PathParameter {
  name: string;
  description: string;
  /** The variable's field, when the parameter is the whole of its value. */
  field?: HttpBinding["variables"][number];
  /** The value may span segments (`**`). */
  rest?: boolean;
}

export interface OpenApiPath {
  path: string;
  parameters: PathParameter[];
}

/** The OpenAPI path and parameters of a binding's template. */
export function openApiPath(binding: HttpBinding): OpenApiPath {
  const { template } = binding;
  const parts: string[] = [];
  const parameters: PathParameter[] = [];
  const taken = new Set(template.variables.map((variable) => variable.fieldPath.join(".")));
  const unique = (wanted: string) => {
    let name = wanted;
    for (let n = 2; taken.has(name) || parameters.some((p) => p.name === name); n++) {
      name = `${wanted}${n}`;
    }
    return name;
  };
  const segments = template.segments;
  for (let i = 0; i < segments.length; ) {
    const at = template.variables.findIndex((variable) => variable.start === i);
    if (at < 0) {
      // A wildcard outside any variable matches, but its value goes nowhere.
      const segment = segments[i]!;
      if (segment.kind === "literal") parts.push(segment.value);
      else {
        const name = unique(segment.kind === "rest" ? "rest" : "segment");
        parts.push(`{${name}}`);
        parameters.push({ name, description: "Any value: the method does not read it." });
      }
      i++;
      continue;
    }
    const variable = template.variables[at]!;
    const bound = binding.variables[at]!;
    const own = segments.slice(variable.start, variable.end);
    if (own.length === 1 && own[0]!.kind !== "literal") {
      const rest = own[0]!.kind === "rest";
      parts.push(`{${bound.name}}`);
      parameters.push({
        name: bound.name,
        description: rest
          ? `The \`${bound.name}\` field; it may span segments (\`a/b/c\`).`
          : `The \`${bound.name}\` field.`,
        field: bound,
        ...(rest && { rest: true }),
      });
    } else {
      const shape: string[] = [];
      const names: PathParameter[] = [];
      own.forEach((segment, k) => {
        if (segment.kind === "literal") {
          shape.push(segment.value);
          return;
        }
        const before = own[k - 1];
        const name = unique(before?.kind === "literal" ? before.value : `${bound.name}${k}`);
        shape.push(`{${name}}`);
        names.push({ name, description: "", ...(segment.kind === "rest" && { rest: true }) });
      });
      const written = shape.join("/");
      for (const parameter of names) {
        const part = parameter.rest ? "The segments at the end" : "A segment";
        parameter.description = `${part} of the \`${bound.name}\` field, which is \`${written}\`.`;
        parameters.push(parameter);
      }
      parts.push(written);
    }
    i = variable.end;
  }
  const verb = template.verb === undefined ? "" : `:${template.verb}`;
  return { path: `/${parts.join("/")}${verb}`, parameters };
}

/** The schema of one path segment that is not a whole field: any text without a slash. */
export const segmentSchema: OpenApiSchema = { type: "string", pattern: "^[^/]+$" };
