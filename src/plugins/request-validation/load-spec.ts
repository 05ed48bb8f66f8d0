/**
 * @module plugins/request-validation/load-spec
 * Reads a route's OpenAPI document into what the plugin runs on: its files, version,
 * operations and their compiled validators, and the router that finds them. What is wrong
 * with the document is a SpecError located in its file, reported when the config loads.
 */
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

export function loadSpec(config: RequestValidationConfig, baseDir: string): LoadedSpec {
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
    router: new OperationRouter(operations, config.basePath),
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
