/**
 * @module config/load
 * Reads a YAML or JSON config file into a validated config, or into a list of problems
 * that each name FILE:LINE:COL. Nothing is half-loaded: either every check passes or the
 * caller gets every problem at once.
 */
import { readFile } from "node:fs/promises";
import { isMap, isPair, isScalar, LineCounter, type Node, parseDocument } from "yaml";
import type { z } from "zod";
import { configSchema, type GatehouseConfig } from "./schema.ts";
import { checkReferences, type PathProblem } from "./semantics.ts";
import { substituteEnv } from "./substitute.ts";
import { closest, knownKeysAt } from "./suggest.ts";

/** One thing wrong with a config file, located in it. */
export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** Thrown when a config cannot be used; `problems` lists everything that is wrong. */
export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** `FILE:LINE:COL message`, the form editors and CI logs link from. */
export function formatProblem(problem: ConfigProblem): string {
  return `${problem.file}:${problem.line}:${problem.col} ${problem.message}`;
}

/** Further checks run on a config that passed the schema (e.g. compiling the routes). */
export type ConfigCheck = (config: GatehouseConfig) => PathProblem[];

export interface ParseOptions {
  env?: Record<string, string | undefined>;
  checks?: ConfigCheck[];
}

/** Reads and validates a config file; throws ConfigError listing every problem. */
export async function loadConfigFile(
  file: string,
  options: ParseOptions = {},
): Promise<GatehouseConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    const reason =
      (error as NodeJS.ErrnoException).code === "ENOENT" ? "file not found" : String(error);
    throw new ConfigError([{ file, line: 1, col: 1, message: reason }]);
  }
  return parseConfig(text, file, options);
}

/** Validates config text (YAML, or JSON which is YAML too); throws ConfigError. */
export function parseConfig(
  text: string,
  file: string,
  options: ParseOptions = {},
): GatehouseConfig {
  const lines = new LineCounter();
  const document = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
  });
  const at = (offset: number, message: string): ConfigProblem => {
    const { line, col } = lines.linePos(offset);
    return { file, line, col, message };
  };

  if (document.errors.length > 0) {
    // Later syntax errors are usually echoes of the first; report that one only.
    const first = document.errors[0]!;
    throw new ConfigError([at(first.pos[0], `YAML syntax: ${first.message.split("\n")[0]}`)]);
  }
  const substitution = substituteEnv(document, options.env ?? process.env);
  if (substitution.length > 0) {
    throw new ConfigError(substitution.map((p) => at(p.offset, p.message)));
  }

  const locate = (problem: PathProblem, key?: string): ConfigProblem =>
    at(
      offsetOf(document.contents, problem.path, key),
      `${pathLabel(problem.path)}: ${problem.message}`,
    );

  const input: unknown = document.toJS() ?? {};
  const result = configSchema.safeParse(input);
  const problems = checkReferences(input).map((problem) => locate(problem));
  if (!result.success) {
    problems.push(...result.error.issues.flatMap((issue) => describeIssue(issue, input, locate)));
  } else if (problems.length === 0) {
    for (const check of options.checks ?? [])
      problems.push(...check(result.data).map((p) => locate(p)));
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(sortByPosition(problems));
  return result.data;
}

function describeIssue(
  issue: z.core.$ZodIssue,
  input: unknown,
  locate: (problem: PathProblem, key?: string) => ConfigProblem,
): ConfigProblem[] {
  const path = issue.path.map((segment) =>
    typeof segment === "number" ? segment : String(segment),
  );
  if (issue.code === "unrecognized_keys") {
    const known = knownKeysAt(configSchema, path);
    return issue.keys.map((key) => {
      const hint = closest(key, known);
      const message = `unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ""}`;
      return locate({ path, message }, key);
    });
  }
  if (issue.code === "invalid_type" && valueAt(input, path) === undefined) {
    return [locate({ path, message: "required key is missing" })];
  }
  if (issue.code === "invalid_union") {
    return [locate({ path, message: "value does not match any of the allowed forms" })];
  }
  return [locate({ path, message: issue.message.replace(/^Invalid input: /, "") })];
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let current = input;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

/** The source offset of the value at `path` (or of `key` in the map there); falls back to the nearest ancestor. */
function offsetOf(root: unknown, path: readonly (string | number)[], key?: string): number {
  let node = root as Node | null;
  let offset = node?.range?.[0] ?? 0;
  const segments = key === undefined ? path : [...path, key];
  for (let i = 0; i < segments.length && node; i++) {
    const segment = segments[i]!;
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isPair(item) && isScalar(item.key) && item.key.value === segment,
      );
      if (!pair) break;
      const isLast = i === segments.length - 1;
      const keyNode = pair.key as Node;
      if (isLast && key !== undefined) return keyNode.range?.[0] ?? offset;
      offset = (pair.value as Node | null)?.range?.[0] ?? keyNode.range?.[0] ?? offset;
      node = pair.value as Node | null;
    } else if ("items" in node && Array.isArray(node.items) && typeof segment === "number") {
      node = (node.items[segment] as Node | undefined) ?? null;
      if (!node) break;
      offset = node.range?.[0] ?? offset;
    } else break;
  }
  return offset;
}

function pathLabel(path: readonly (string | number)[]): string {
  let label = "";
  for (const segment of path)
    label += typeof segment === "number" ? `[${segment}]` : label ? `.${segment}` : segment;
  return label || "(top level)";
}

function sortByPosition(problems: ConfigProblem[]): ConfigProblem[] {
  return problems.sort((a, b) => a.line - b.line || a.col - b.col);
}
