/**
 * @module grpc/path-template
 * Parses a `google.api.http` path template (`/v1/{name=shelves/*\/books/*}:archive`) into
 * segments and variables, following the grammar in google/api/http.proto:
 *
 *     Template = "/" Segments [ Verb ] ;  Segments = Segment { "/" Segment } ;
 *     Segment  = "*" | "**" | LITERAL | Variable ;  Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *
 * `{field}` is `{field=*}`. `**` matches the rest of the path, so it may only be last.
 */

/** One path segment of a template: a fixed literal, one segment (`*`) or the rest (`**`). */
export type TemplateSegment =
  | { kind: "literal"; value: string }
  | { kind: "any" }
  | { kind: "rest" };

/** A `{field.path=...}` variable: the segments `[start, end)` it captures. */
export interface TemplateVariable {
  fieldPath: string[];
  start: number;
  /** One past its last segment; for a variable ending in `**`, the rest of the path. */
  end: number;
}

export interface PathTemplate {
  /** The template as written. */
  source: string;
  segments: TemplateSegment[];
  variables: TemplateVariable[];
  verb: string | undefined;
}

/** Thrown by {@link parsePathTemplate}, with a message naming what is wrong. */
export class PathTemplateError extends Error {
  override name = "PathTemplateError";
}

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Parses a path template; throws {@link PathTemplateError} when it does not follow the grammar. */
export function parsePathTemplate(source: string): PathTemplate {
  const fail = (why: string): never => {
    throw new PathTemplateError(`path template "${source}": ${why}`);
  };
  if (!source.startsWith("/")) fail('must start with "/"');
  const { path, verb } = splitVerb(source);
  if (verb !== undefined && !/^[^/{}*:]+$/.test(verb)) fail(`bad verb ":${verb}"`);
  const segments: TemplateSegment[] = [];
  const variables: TemplateVariable[] = [];
  let rest = path.slice(1);
  while (rest.length > 0 || segments.length === 0) {
    if (rest.startsWith("{")) {
      const close = rest.indexOf("}");
      if (close < 0) fail('a "{" is not closed');
      const inside = rest.slice(1, close);
      const [fieldPath, pattern = "*"] = splitOnce(inside, "=");
      const names = fieldPath.split(".");
      if (!names.every((name) => identifier.test(name))) fail(`bad field path "${fieldPath}"`);
      if (pattern.includes("{")) fail("variables cannot be nested");
      const start = segments.length;
      for (const part of pattern.split("/")) segments.push(plainSegment(part, fail));
      variables.push({ fieldPath: names, start, end: segments.length });
      rest = rest.slice(close + 1);
    } else {
      const slash = rest.indexOf("/");
      const part = slash < 0 ? rest : rest.slice(0, slash);
      if (part.includes("{") || part.includes("}")) fail(`bad segment "${part}"`);
      segments.push(plainSegment(part, fail));
      rest = slash < 0 ? "" : rest.slice(slash);
    }
    if (rest.startsWith("/")) {
      rest = rest.slice(1);
      if (rest.length === 0) fail("must not end with /");
    } else if (rest.length > 0) {
      fail(`unexpected "${rest}"`);
    }
  }
  const restAt = segments.findIndex((segment) => segment.kind === "rest");
  if (restAt >= 0 && restAt !== segments.length - 1) fail('"**" may only be the last segment');
  const seen = new Set<string>();
  for (const variable of variables) {
    const name = variable.fieldPath.join(".");
    if (seen.has(name)) fail(`variable "${name}" appears twice`);
    seen.add(name);
  }
  return { source, segments, variables, verb };
}

/** The template with variables replaced by what they match: equal keys match equal paths. */
export function templateShape(template: PathTemplate): string {
  const parts = template.segments.map((segment) =>
    segment.kind === "literal" ? segment.value : segment.kind === "any" ? "*" : "**",
  );
  return `/${parts.join("/")}${template.verb === undefined ? "" : `:${template.verb}`}`;
}

function plainSegment(part: string, fail: (why: string) => never): TemplateSegment {
  if (part === "*") return { kind: "any" };
  if (part === "**") return { kind: "rest" };
  if (part === "" || /[*{}=]/.test(part)) fail(`bad segment "${part}"`);
  return { kind: "literal", value: part };
}

/** The verb is the text after the last ":" that is outside braces and after the last "/". */
function splitVerb(source: string): { path: string; verb: string | undefined } {
  let depth = 0;
  let colon = -1;
  for (let i = 0; i < source.length; i++) {
    const char = source[i];
    if (char === "{") depth++;
    else if (char === "}") depth--;
    else if (depth === 0 && char === "/") colon = -1;
    else if (depth === 0 && char === ":") colon = i;
  }
  if (colon < 0) return { path: source, verb: undefined };
  return { path: source.slice(0, colon), verb: source.slice(colon + 1) };
}

function splitOnce(text: string, separator: string): [string, string?] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + 1)];
}
