/**
 * @module config/load
 * Reads a YAML or JSON config file into a validated config, or into a list of problems
 * that each name FILE:LINE:COL. Nothing is half-loaded: either every check passes or the
 * caller gets every problem at once.
 */
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { isMap, isPair, isScalar, LineCounter, type Node, parseDocument } from "yaml";
import { describeIssue } from "./messages.ts";
import { configSchema, type GatehouseConfig } from "./schema.ts";
import { processSecrets, rememberSecrets, SecretValues } from "./secret-values.ts";
import { checkReferences, type PathProblem } from "./semantics.ts";
import { substituteReferences } from "./substitute.ts";

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
  /**
   * Receives the values substituted from `${env:…}`, `${file:…}` and `${enc:…}`, for
   * redaction (also available afterwards as `secretsOf(config)`).
   */
  secrets?: SecretValues;
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
    const { code, message } = error as NodeJS.ErrnoException;
    const reason =
      code === "ENOENT"
        ? "config file not found"
        : code === "EISDIR"
          ? "is a directory, not a config file"
          : `cannot read config file: ${message}`;
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
    const message = `YAML syntax: ${first.message.split("\n")[0]}`;
    const { line } = lines.linePos(first.pos[0]);
    throw new ConfigError([at(first.pos[0], message + syntaxHint(text, lines.lineStarts, line))]);
  }
  const secrets = options.secrets ?? new SecretValues();
  const substitution = substituteReferences(
    document,
    { env: options.env ?? process.env, baseDir: dirname(file), secrets },
    text,
  );
  processSecrets.addAll(secrets);
  // A value left unresolved is reported once, as the missing variable, not again as a bad value.
  const unresolved = new Set(substitution.map((p) => p.scalarOffset));
  const problems: { offset: number; message: string }[] = [...substitution];
  const report = (problem: PathProblem, key?: string) => {
    const offset = offsetOf(document.contents, problem.path, key);
    if (key === undefined && unresolved.has(offset)) return;
    problems.push({ offset, message: `${pathLabel(problem.path)}: ${problem.message}` });
  };

  const input: unknown = document.toJS() ?? {};
  const result = configSchema.safeParse(input);
  for (const problem of checkReferences(input)) report(problem);
  if (!result.success) {
    for (const issue of result.error.issues)
      for (const problem of describeIssue(issue, input, configSchema)) report(problem, problem.key);
  } else {
    // The checks need a config that passed the schema, but not one whose references resolve.
    for (const check of options.checks ?? [])
      for (const problem of check(result.data)) report(problem);
  }
  if (problems.length > 0 || !result.success) {
    problems.sort((a, b) => a.offset - b.offset);
    // A message may quote the value it is about (zod's "got the string ..."); never a secret.
    throw new ConfigError(problems.map((p) => at(p.offset, secrets.redactText(p.message))));
  }
  rememberSecrets(result.data, secrets);
  return result.data;
}

/** Why a `${env:...}` (or `${file:...}`, `${enc:...}`) reference broke the YAML, when that is the likely cause. */
function syntaxHint(text: string, lineStarts: readonly number[], line: number): string {
  const source = text.slice(lineStarts[line - 1] ?? 0, lineStarts[line] ?? text.length);
  return /(^|[\s,[{])\$\{(env|file|enc):/.test(source)
    ? ` (inside [ ] or { }, quote \${env:...} references: port: "\${env:PORT}")`
    : "";
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
