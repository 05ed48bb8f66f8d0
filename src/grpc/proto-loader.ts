/**
 * @module grpc/proto-loader
 * Reads `.proto` files at load time and turns them into a @bufbuild/protobuf registry
 * (the one JSON ↔ binary is done with) plus the list of RPC methods with their
 * `google.api.http` options. protobufjs parses the text; `google/api/*`, `google/rpc/*`
 * and the well-known types are bundled (src/grpc/protos/) so users need not vendor them.
 * Anything wrong is returned as problems located at FILE:LINE:COL, never thrown.
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { create, createFileRegistry, type DescMethod, type FileRegistry } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import protobuf from "protobufjs";
import { fileDescriptor, type ParsedFile } from "./descriptor-set.ts";
import {
  escapeRegExp,
  locate,
  type ProtoLocation,
  type ProtoProblem,
  parseProblem,
  rpcPattern,
  wordPattern,
} from "./proto-problems.ts";
import { embeddedWellKnownFile } from "./well-known-files.ts";

/** Where the `.proto` files are: paths relative to `baseDir` (the config file's folder). */
export interface ProtoSources {
  protos: string[];
  includeDirs?: string[];
  baseDir: string;
}

/** An RPC method with its `google.api.http` option as written (protobufjs's object form). */
export interface LoadedMethod {
  method: DescMethod;
  httpRule: Record<string, unknown> | undefined;
  location: ProtoLocation;
}

/** Everything transcoding needs from the `.proto` files, built once per load. */
export interface LoadedProtos {
  registry: FileRegistry;
  /** The methods of the services in the user's files (not the bundled ones). */
  methods: LoadedMethod[];
  /** Every file read, as absolute paths (the ones to watch for a reload). */
  files: string[];
  /**
   * The comment just before (or on the line of) each message, field, enum, service and
   * method of the user's files, by full name (`pkg.Message`, `pkg.Message.field`,
   * `pkg.Service.Method`): the developer portal's descriptions.
   */
  comments: ReadonlyMap<string, string>;
}

export type { ProtoLocation, ProtoProblem };

export type ProtoLoadResult =
  | { ok: true; protos: LoadedProtos }
  | { ok: false; problems: ProtoProblem[] };

/** The folder of the bundled `google/...` files, the same in src/ and in the published dist/. */
export const bundledProtoDir = fileURLToPath(new URL("../../src/grpc/protos/", import.meta.url));

/** Always loaded: the types `grpc-status-details-bin` is decoded with. */
const statusFiles = ["google/rpc/status.proto", "google/rpc/error_details.proto"];

interface SourceFile extends ParsedFile {
  path: string;
  text: string;
  bundled: boolean;
}

/**
 * What a load looked at outside the bundled files (which are Gatehouse's own and do not
 * change): each file it read, by absolute path, with its text; and each place it looked
 * for an import and found nothing (null), where a file put later would be taken instead.
 */
export type ProtoInputs = ReadonlyMap<string, string | null>;

/** Loads the `.proto` files and everything they import. */
export function loadProtos(sources: ProtoSources): ProtoLoadResult {
  return loadProtosAndInputs(sources).result;
}

/** `loadProtos`, and what its result was made from (see ProtoInputs). */
export function loadProtosAndInputs(sources: ProtoSources): {
  result: ProtoLoadResult;
  inputs: ProtoInputs;
} {
  const loading = new Loading(sources);
  const result = loadWith(loading, sources);
  return { result, inputs: loading.inputs };
}

function loadWith(loading: Loading, sources: ProtoSources): ProtoLoadResult {
  for (const proto of sources.protos) {
    const file = path.resolve(sources.baseDir, proto);
    loading.load(loading.importName(file), file, undefined);
  }
  for (const name of statusFiles) loading.load(name, path.join(bundledProtoDir, name), undefined);
  if (loading.problems.length > 0) return { ok: false, problems: loading.problems };
  loading.resolve();
  if (loading.problems.length > 0) return { ok: false, problems: loading.problems };
  return loading.finish();
}

class Loading {
  readonly root = new protobuf.Root();
  readonly files = new Map<string, SourceFile>();
  readonly problems: ProtoProblem[] = [];
  readonly inputs = new Map<string, string | null>();
  readonly #searchDirs: string[];
  readonly #baseDir: string;

  constructor(sources: ProtoSources) {
    this.#baseDir = sources.baseDir;
    const includeDirs = sources.includeDirs?.length ? sources.includeDirs : ["."];
    this.#searchDirs = includeDirs.map((dir) => path.resolve(sources.baseDir, dir));
  }

  /** The name a file is imported by: its path inside the first include dir that holds it. */
  importName(file: string): string {
    for (const dir of this.#searchDirs) {
      const inside = path.relative(dir, file);
      if (!inside.startsWith("..") && !path.isAbsolute(inside)) return toPosix(inside);
    }
    return toPosix(path.relative(this.#baseDir, file));
  }

  load(name: string, file: string, importedAt: ProtoLocation | undefined): void {
    if (this.files.has(name)) return;
    const bundled = file.startsWith(bundledProtoDir);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
      if (!bundled) this.inputs.set(file, text);
    } catch (error) {
      if (!bundled) this.inputs.set(file, null);
      const reason =
        (error as NodeJS.ErrnoException).code === "ENOENT" ? "not found" : String(error);
      this.problems.push({
        ...(importedAt ?? { file }),
        message: `cannot read ${file}: ${reason}`,
      });
      return;
    }
    const source: SourceFile = {
      name,
      path: file,
      text,
      bundled,
      syntax: "proto2",
      package: undefined,
      imports: [],
      declarations: [],
    };
    this.files.set(name, source);
    if (/^\s*edition\s*=/m.test(text)) {
      this.problems.push({
        ...locate(source, /\bedition\b/),
        message: 'protobuf editions are not supported; use syntax = "proto3" or "proto2"',
      });
      return;
    }
    if (/^\s*syntax\s*=\s*["']proto3["']/m.test(text)) source.syntax = "proto3";
    let parsed: protobuf.IParserResult;
    try {
      (protobuf.parse as unknown as { filename: string | null }).filename = name;
      // Plain `//` and `/* */` comments are kept too: that is how most .proto files document.
      parsed = protobuf.parse(text, this.root, { keepCase: true, alternateCommentMode: true });
    } catch (error) {
      this.problems.push(parseProblem(source, error));
      return;
    }
    tagDeclarations(this.root, name);
    source.package = parsed.package;
    source.imports = [...(parsed.imports ?? []), ...(parsed.weakImports ?? [])];
    for (const imported of source.imports) {
      const at = locate(
        source,
        new RegExp(`import\\s+(?:public\\s+|weak\\s+)?["']${escapeRegExp(imported)}["']`),
      );
      this.load(imported, this.findImport(imported), at);
    }
  }

  /** An import is looked up in the include dirs, then among the bundled files. */
  findImport(name: string): string {
    for (const dir of [...this.#searchDirs, bundledProtoDir]) {
      const candidate = path.join(dir, name);
      if (existsSync(candidate)) return candidate;
      if (dir !== bundledProtoDir) this.inputs.set(candidate, null);
    }
    return path.join(this.#searchDirs[0], name);
  }

  /** Resolves every type reference, reporting each one that names no known type. */
  resolve(): void {
    for (const file of this.files.values()) {
      file.declarations = declarationsOf(this.root, file.name);
      for (const declared of file.declarations) this.#resolveWithin(file, declared);
    }
    for (const extension of this.root.deferred) {
      const file = this.files.get(extension.filename ?? "");
      const where = file
        ? locate(file, new RegExp(`extend\\s+${escapeRegExp(extension.extend ?? "")}`))
        : { file: "" };
      this.problems.push({ ...where, message: `extend of unknown message "${extension.extend}"` });
    }
  }

  #resolveWithin(file: SourceFile, object: protobuf.ReflectionObject): void {
    const fields =
      object instanceof protobuf.Type
        ? object.fieldsArray
        : object instanceof protobuf.Field
          ? [object]
          : [];
    for (const field of fields) {
      try {
        field.resolve();
      } catch {
        this.problems.push({
          ...locate(file, wordPattern(field.type)),
          message: `field "${field.name}" of ${field.parent?.fullName.slice(1)}: unknown type "${field.type}"`,
        });
      }
    }
    if (object instanceof protobuf.Service) {
      for (const method of object.methodsArray) {
        try {
          method.resolve();
        } catch (error) {
          this.problems.push({
            ...locate(file, rpcPattern(method.name)),
            message: `rpc ${method.name}: ${(error as Error).message}`,
          });
        }
      }
    }
    if (object instanceof protobuf.Namespace) {
      for (const nested of object.nestedArray) this.#resolveWithin(file, nested);
    }
  }

  finish(): ProtoLoadResult {
    const descriptors: FileDescriptorProto[] = [];
    for (const file of this.files.values()) {
      descriptors.push(embeddedWellKnownFile(file.name) ?? fileDescriptor(file));
    }
    let registry: FileRegistry;
    try {
      registry = createFileRegistry(
        create(FileDescriptorSetSchema, { file: dependenciesFirst(descriptors) }),
      );
    } catch (error) {
      return {
        ok: false,
        problems: [{ file: [...this.files.values()][0].path, message: (error as Error).message }],
      };
    }
    const methods: LoadedMethod[] = [];
    const comments = new Map<string, string>();
    for (const file of this.files.values()) {
      if (file.bundled) continue;
      for (const declared of file.declarations) collectComments(declared, comments);
      for (const service of file.declarations.filter((d) => d instanceof protobuf.Service)) {
        const desc = registry.getService(service.fullName.slice(1))!;
        for (const method of service.methodsArray) {
          const option = method.parsedOptions?.find((o: object) => "(google.api.http)" in o);
          methods.push({
            method: desc.methods.find((m) => m.name === method.name)!,
            httpRule: option?.["(google.api.http)"] as Record<string, unknown> | undefined,
            location: locate(file, rpcPattern(method.name)),
          });
        }
      }
    }
    return {
      ok: true,
      protos: { registry, methods, files: [...this.files.values()].map((f) => f.path), comments },
    };
  }
}

/** The comments of a declaration and of what it holds (fields, methods, nested types). */
function collectComments(object: protobuf.ReflectionObject, into: Map<string, string>): void {
  if (object.comment) into.set(object.fullName.slice(1), object.comment.trim());
  const inner =
    object instanceof protobuf.Type
      ? [...object.fieldsArray, ...object.nestedArray]
      : object instanceof protobuf.Service
        ? object.methodsArray
        : object instanceof protobuf.Namespace
          ? object.nestedArray
          : [];
  for (const nested of inner) collectComments(nested, into);
}

/** protobufjs marks messages, enums and services with their file; extensions get it here. */
function tagDeclarations(namespace: protobuf.Namespace, name: string): void {
  for (const nested of namespace.nestedArray) {
    if (nested instanceof protobuf.Field && nested.filename === null) nested.filename = name;
    else if (!(nested instanceof protobuf.Type) && nested instanceof protobuf.Namespace)
      tagDeclarations(nested, name);
  }
}

/** The top-level declarations of one file (inside packages, not inside messages). */
function declarationsOf(namespace: protobuf.Namespace, name: string): protobuf.ReflectionObject[] {
  const found: protobuf.ReflectionObject[] = [];
  for (const nested of namespace.nestedArray) {
    const plainNamespace = nested.constructor === protobuf.Namespace;
    if (plainNamespace) found.push(...declarationsOf(nested as protobuf.Namespace, name));
    else if (nested.filename === name) found.push(nested);
  }
  return found;
}

/** A file set in an order where every file comes after the files it imports. */
function dependenciesFirst(files: FileDescriptorProto[]): FileDescriptorProto[] {
  const byName = new Map(files.map((file) => [file.name, file]));
  const ordered: FileDescriptorProto[] = [];
  const visited = new Set<string>();
  const visit = (file: FileDescriptorProto) => {
    if (visited.has(file.name)) return;
    visited.add(file.name);
    for (const dependency of file.dependency) {
      const imported = byName.get(dependency);
      if (imported) visit(imported);
    }
    ordered.push(file);
  };
  files.forEach(visit);
  return ordered;
}

function toPosix(file: string): string {
  return file.split(path.sep).join("/");
}
