/**
 * @module grpc/http-rule
 * Compiles the `google.api.http` option of every method into HTTP bindings: the HTTP
 * method, the parsed path template with each variable resolved to its request field,
 * where the body goes (`*`, one field, or nowhere) and which response field is the body
 * (`response_body`). `additional_bindings` become bindings of their own. Checked here,
 * once, at load: unknown fields, misplaced `**`, and two bindings that would answer the
 * same requests (same HTTP method, same template shape) are problems at FILE:LINE:COL.
 */
import type { DescField, DescMessage, DescMethod } from "@bufbuild/protobuf";
import { PathMatcher } from "./path-matcher.ts";
import { type PathTemplate, parsePathTemplate, templateShape } from "./path-template.ts";
import type { LoadedMethod, ProtoLocation, ProtoProblem } from "./proto-loader.ts";
import { isScalarLikeMessage } from "./query-fields.ts";

/** A path variable resolved against the request message: the fields from the top down. */
export interface BoundVariable {
  /** As written in the template, e.g. `book.name`. */
  name: string;
  fields: DescField[];
}

/** One HTTP binding of an RPC method. */
export interface HttpBinding {
  method: DescMethod;
  /** `GET`, `POST`, … or a custom rule's kind as written. */
  httpMethod: string;
  template: PathTemplate;
  /** In the order of `template.variables`. */
  variables: BoundVariable[];
  /** `*`: the whole request message; a field: that field; undefined: no body. */
  body: "*" | DescField | undefined;
  /** The response field sent as the body; undefined: the whole response message. */
  responseBody: DescField | undefined;
  /** 0 for the rule itself, 1… for its `additional_bindings`. */
  index: number;
  location: ProtoLocation;
}

/** The bindings of a set of methods, and the matcher that finds one for a request. */
export interface CompiledHttpRules {
  bindings: HttpBinding[];
  matcher: PathMatcher<HttpBinding>;
}

const patternKeys = ["get", "put", "post", "delete", "patch", "custom"] as const;

/** Compiles every method's `google.api.http` option; methods without one get no binding. */
export function compileHttpRules(
  methods: LoadedMethod[],
): { ok: true; rules: CompiledHttpRules } | { ok: false; problems: ProtoProblem[] } {
  const problems: ProtoProblem[] = [];
  const bindings: HttpBinding[] = [];
  for (const loaded of methods) {
    if (loaded.httpRule === undefined) continue;
    const rules = [loaded.httpRule, ...asArray(loaded.httpRule.additional_bindings)];
    rules.forEach((rule, index) => {
      try {
        if (index > 0 && rule.additional_bindings !== undefined) {
          throw new Error("additional_bindings cannot be nested");
        }
        bindings.push(compileBinding(loaded, rule, index));
      } catch (error) {
        const message = `rpc ${loaded.method.name}: ${(error as Error).message}`;
        problems.push({ ...loaded.location, message });
      }
    });
  }
  const seen = new Map<string, HttpBinding>();
  for (const binding of bindings) {
    const key = `${binding.httpMethod} ${templateShape(binding.template)}`;
    const earlier = seen.get(key);
    if (earlier === undefined) {
      seen.set(key, binding);
      continue;
    }
    const where = `${earlier.location.file}:${earlier.location.line}:${earlier.location.col}`;
    problems.push({
      ...binding.location,
      message: `rpc ${binding.method.name}: ${binding.httpMethod} ${binding.template.source} conflicts with ${earlier.method.toString()}'s ${earlier.httpMethod} ${earlier.template.source} (${where})`,
    });
  }
  if (problems.length > 0) return { ok: false, problems };
  const matcher = new PathMatcher<HttpBinding>();
  for (const binding of bindings) matcher.add(binding.httpMethod, binding.template, binding);
  return { ok: true, rules: { bindings, matcher } };
}

function compileBinding(
  loaded: LoadedMethod,
  rule: Record<string, unknown>,
  index: number,
): HttpBinding {
  const { method } = loaded;
  const present = patternKeys.filter((key) => rule[key] !== undefined);
  if (present.length !== 1) {
    throw new Error(`a rule needs exactly one of ${patternKeys.join(", ")}`);
  }
  const key = present[0];
  let httpMethod: string;
  let path: unknown;
  if (key === "custom") {
    const custom = rule.custom as Record<string, unknown>;
    httpMethod = String(custom.kind ?? "");
    path = custom.path;
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(httpMethod)) {
      throw new Error(`custom kind "${httpMethod}" is not an HTTP method`);
    }
  } else {
    httpMethod = key.toUpperCase();
    path = rule[key];
  }
  if (typeof path !== "string") throw new Error(`"${key}" needs a path template`);
  const template = parsePathTemplate(path);
  const variables = template.variables.map((variable) => {
    const name = variable.fieldPath.join(".");
    const fields = resolveFieldPath(method.input, variable.fieldPath, `path variable "${name}"`);
    checkPathField(fields[fields.length - 1], name);
    return { name, fields };
  });
  const body = bodyOf(method.input, rule.body, "body");
  const responseBody = bodyOf(method.output, rule.response_body, "response_body");
  if (responseBody === "*") throw new Error('response_body cannot be "*"; leave it out');
  return {
    method,
    httpMethod,
    template,
    variables,
    body,
    responseBody,
    index,
    location: loaded.location,
  };
}

/** The fields a dotted path names, from the top message down. */
export function resolveFieldPath(message: DescMessage, names: string[], what: string): DescField[] {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const [i, name] of names.entries()) {
    const field: DescField | undefined = current?.fields.find((f) => f.name === name);
    if (field === undefined) {
      throw new Error(`${what}: ${current?.typeName ?? message.typeName} has no field "${name}"`);
    }
    if (i < names.length - 1 && field.fieldKind !== "message") {
      throw new Error(`${what}: "${name}" is not a message field`);
    }
    fields.push(field);
    current = field.fieldKind === "message" ? field.message : undefined;
  }
  return fields;
}

function checkPathField(field: DescField, name: string): void {
  const fits =
    field.fieldKind === "scalar" ||
    field.fieldKind === "enum" ||
    (field.fieldKind === "message" && isScalarLikeMessage(field.message));
  if (!fits) throw new Error(`path variable "${name}" must name a single scalar or enum field`);
}

function bodyOf(message: DescMessage, value: unknown, what: string): "*" | DescField | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === "*") return "*";
  if (typeof value !== "string") throw new Error(`${what} must be a field name or "*"`);
  const field = message.fields.find((f) => f.name === value);
  if (field === undefined) throw new Error(`${what}: ${message.typeName} has no field "${value}"`);
  return field;
}

function asArray(value: unknown): Record<string, unknown>[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]) as Record<string, unknown>[];
}
