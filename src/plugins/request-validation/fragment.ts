/**
 * @module plugins/request-validation/fragment
 * What the developer portal publishes of the route's document (`openapi()` on the hooks):
 * every operation under the path the client sends (`basePath` + the document's path), its
 * parameters, request body and responses with their refs followed, and the schemas they use
 * under `components/schemas`, refs rewritten to `#/components/schemas/<name>` whichever
 * file they came from. 3.0 schemas are published in their 3.1 form (see schema-dialect).
 */
import { basename, extname } from "node:path";
import type {
  OpenApiFragment,
  OpenApiOperation,
  OpenApiSchema,
} from "../../portal/openapi-fragment.ts";
import type { LoadedSpec } from "./load-spec.ts";
import type { SpecFiles, SpecPlace } from "./spec-files.ts";

/** Operation members the fragment leaves out: they name parts of the document it does not carry. */
const leftOut = new Set(["security", "servers", "callbacks"]);
const dataKeys = new Set(["example", "examples", "enum", "const", "default"]);

class FragmentBuilder {
  readonly schemas: Record<string, OpenApiSchema> = {};
  readonly #names = new Map<string, string>();
  readonly #files: SpecFiles;

  constructor(files: SpecFiles) {
    this.#files = files;
  }

  /** The component name of the schema at `place`, copied into `schemas` at the first ask. */
  #component(place: SpecPlace): string {
    const key = `${place.file}#${place.path.join("/")}`;
    const known = this.#names.get(key);
    if (known) return known;
    const inComponents =
      place.path.length === 3 && place.path[0] === "components" && place.path[1] === "schemas";
    const base = (
      inComponents
        ? place.path[2]!
        : (place.path.at(-1) ?? basename(place.file, extname(place.file)))
    ).replace(/[^A-Za-z0-9._-]/g, "_");
    let name = base;
    for (let n = 2; name in this.schemas; n++) name = `${base}_${n}`;
    this.#names.set(key, name);
    this.schemas[name] = {};
    this.schemas[name] = this.schema(this.#files.at(place), place) as OpenApiSchema;
    return name;
  }

  /** A copy of a schema, its refs turned into component refs. */
  schema(node: unknown, place: SpecPlace): unknown {
    if (node === null || typeof node !== "object") return node;
    if (Array.isArray(node))
      return node.map((item, i) =>
        this.schema(item, { ...place, path: [...place.path, String(i)] }),
      );
    const copy: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === "$ref" && typeof value === "string") {
        copy.$ref = `#/components/schemas/${this.#component(this.#files.target(value, place))}`;
      } else if (dataKeys.has(key)) copy[key] = structuredClone(value);
      else copy[key] = this.schema(value, { ...place, path: [...place.path, key] });
    }
    return copy;
  }

  /** A copy of a part of the document that is not a schema: its refs followed and inlined. */
  structure(place: SpecPlace): unknown {
    const { value, place: at } = this.#files.follow(place);
    if (value === null || typeof value !== "object") return value;
    if (Array.isArray(value))
      return value.map((_, i) => this.structure({ ...at, path: [...at.path, String(i)] }));
    const copy: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      const memberPlace = { ...at, path: [...at.path, key] };
      if (key === "schema") copy[key] = this.schema(member, memberPlace);
      else if (key === "example" || key === "examples") copy[key] = structuredClone(member);
      else copy[key] = this.structure(memberPlace);
    }
    return copy;
  }
}

export function openApiFragment(spec: LoadedSpec, basePath: string): OpenApiFragment {
  const builder = new FragmentBuilder(spec.files);
  const prefix = basePath.replace(/\/+$/, "");
  const paths: OpenApiFragment["paths"] = {};
  for (const { spec: operation } of spec.operations) {
    const copy = builder.structure(operation.place) as OpenApiOperation;
    for (const key of leftOut) delete copy[key];
    // The path item's parameters belong to each of its operations in the fragment.
    const sharedPlace = { ...operation.pathItem, path: [...operation.pathItem.path, "parameters"] };
    const shared =
      spec.files.at(sharedPlace) === undefined ? undefined : builder.structure(sharedPlace);
    if (Array.isArray(shared)) {
      const own = (copy.parameters as { name: string; in: string }[] | undefined) ?? [];
      const overridden = new Set(own.map((parameter) => `${parameter.in}:${parameter.name}`));
      const inherited = (shared as { name: string; in: string }[]).filter(
        (parameter) => !overridden.has(`${parameter.in}:${parameter.name}`),
      );
      copy.parameters = [...inherited, ...own];
    }
    const path = `${prefix}${operation.path}`;
    paths[path] ??= {};
    paths[path][operation.method.toLowerCase()] = copy;
  }
  return Object.keys(builder.schemas).length > 0 ? { paths, schemas: builder.schemas } : { paths };
}
