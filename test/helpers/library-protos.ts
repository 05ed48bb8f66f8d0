/**
 * @module test/helpers/library-protos
 * The test `library.proto` (test/fixtures/protos) loaded and compiled as the transcoder
 * loads a user's protos, with lookups by method name and a place to write broken protos.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  type CompiledHttpRules,
  compileHttpRules,
  type HttpBinding,
} from "../../src/grpc/http-rule.ts";
import { type LoadedProtos, loadProtos, type ProtoProblem } from "../../src/grpc/proto-loader.ts";

export const fixtureProtoDir = fileURLToPath(new URL("../fixtures/protos/", import.meta.url));

export interface LibraryProtos {
  protos: LoadedProtos;
  rules: CompiledHttpRules;
  /** The binding of `Library.<method>` (`index` 1… for its additional bindings). */
  binding(method: string, index?: number): HttpBinding;
}

/** Loads library/v1/library.proto; throws with the problems if it does not load. */
export function loadLibrary(): LibraryProtos {
  const loaded = loadProtos({
    protos: ["library/v1/library.proto"],
    includeDirs: ["."],
    baseDir: fixtureProtoDir,
  });
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems, null, 2));
  const compiled = compileHttpRules(loaded.protos.methods);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.problems, null, 2));
  const { rules } = compiled;
  return {
    protos: loaded.protos,
    rules,
    binding(method, index = 0) {
      const found = rules.bindings.find((b) => b.method.name === method && b.index === index);
      if (!found) throw new Error(`no binding ${method}#${index}`);
      return found;
    },
  };
}

/** Writes `files` (name → text) into a new temporary folder and returns its path. */
export function protoFolder(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "gatehouse-protos-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** Loads and compiles the protos in `dir`; the problems of whichever step failed. */
export function problemsOf(dir: string, protos: string[]): ProtoProblem[] {
  const loaded = loadProtos({ protos, baseDir: dir });
  if (!loaded.ok) return loaded.problems;
  const compiled = compileHttpRules(loaded.protos.methods);
  return compiled.ok ? [] : compiled.problems;
}
