/**
 * @module plugins/request-validation/load-spec
 * Reads a route's OpenAPI document into what the plugin runs on: its files, version,
 * operations and their compiled validators, and the router that finds them. What is wrong
 * with the document is a SpecError located in its file, reported when the config loads.
 * Compiling is the costly part (tens of milliseconds for a small document), and a config
 * load asks twice (`check`, then `create`), maybe for several routes: a loaded spec is kept
 * for the same config while none of its files' contents changed.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { LRUCache } from "lru-cache";
import { OperationRouter } from "./operation-router.ts";
import { readOperations } from "./operations.ts";
import type { RequestValidationConfig } from "./schema.ts";
import { openApiVersion, upgradeSchemas30 } from "./schema-dialect.ts";
import { SpecError, SpecFiles } from "./spec-files.ts";
import { type CompiledOperation, compileOperations } from "./validators.ts";

export interface LoadedSpec {
  files: SpecFiles;
  version: "3.0" | "3.1";
  operations: CompiledOperation[];
  router: OperationRouter<CompiledOperation>;
}

/** A file's content digest: it changed when this differs (reading is cheap next to compiling). */
function stamp(file: string): string {
  try {
    return createHash("sha1").update(readFileSync(file)).digest("hex");
  } catch {
    return "gone";
  }
}

const loaded = new LRUCache<string, { spec: LoadedSpec; stamps: string[] }>({ max: 32 });

/** The spec of `config`, compiled, or as compiled before for the same config and files. */
export function loadSpec(config: RequestValidationConfig, baseDir: string): LoadedSpec {
  const key = JSON.stringify([baseDir, config]);
  const known = loaded.get(key);
  const files = known?.spec.files.diskFiles();
  if (known && files!.every((file, i) => stamp(file) === known.stamps[i])) return known.spec;
  const spec = compileSpec(config, baseDir);
  loaded.set(key, { spec, stamps: spec.files.diskFiles().map(stamp) });
  return spec;
}

function compileSpec(config: RequestValidationConfig, baseDir: string): LoadedSpec {
  const files = new SpecFiles(config.spec, baseDir);
  const found = openApiVersion(files.load(files.root));
  if ("problem" in found) {
    const where = files.problem(
      { file: files.root, path: ["openapi"] },
      `the document ${found.problem}`,
    );
    throw new SpecError(where);
  }
  files.loadAll();
  if (found.version === "3.0") for (const file of files.files()) upgradeSchemas30(files.load(file));
  const operations = compileOperations(
    found.version,
    files,
    readOperations(files),
    config.validateResponses,
  );
  return {
    files,
    version: found.version,
    operations,
    router: new OperationRouter(operations, config.basePath ?? ""),
  };
}

/** The files a spec reads from disk (none for an inline document without file refs). */
export function specFiles(config: RequestValidationConfig, baseDir: string): string[] {
  try {
    const files = new SpecFiles(config.spec, baseDir);
    files.loadAll();
    return files.diskFiles();
  } catch {
    return [];
  }
}
