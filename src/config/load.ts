/**
 * @module config/load
 * Reads a YAML or JSON config file into a validated config, or into a list of problems
 * that each name FILE:LINE:COL. Nothing is half-loaded: either every check passes or the
 * caller gets every problem at once.
 */
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import {
  isMap,
  isPair,
  isScalar,
  LineCounter,
  type Node,
  parseDocument,
  type Scalar,
  visit,
} from "yaml";
import { dependedFiles } from "./depended-files.ts";
import { type ConfigDocument, rememberConfigOrigin } from "./document.ts";
import { fastLoad } from "./fast-load.ts";
import { configWarnings } from "./load-warnings.ts";
import { describeIssue, type IssueProblem } from "./messages.ts";
import {
  expandAliases,
  mergeOverlay,
  type NodeOrigins,
  originOf,
  recordOrigin,
  yamlNodes,
} from "./overlay.ts";
import { checkMethods } from "./schema/http-methods.ts";
import { configSchema, type GatehouseConfig } from "./schema/index.ts";
import { processSecrets, rememberSecrets, SecretValues } from "./secret-values.ts";
import { checkReferences, type PathProblem, pathLabel } from "./semantics.ts";
import { substituteReferences } from "./substitute.ts";

/** One thing wrong with a config file, located in it. */
export interface ConfigProblem {
  file: string;
  line: number;
  col: number;
  message: string;
  /** Where in the config it is, when it is about a place in it (the admin API's dry run). */
  path?: (string | number)[];
  /** The key it is about (an unknown one), in the map at `path`. */
  key?: string;
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
export type ConfigCheck = (config: GatehouseConfig, context: CheckContext) => PathProblem[];

/** What a check knows besides the config. */
export interface CheckContext {
  /** The directory the config's relative file names are relative to (the first file's). */
  baseDir: string;
  /**
   * Records a file (absolute path) the config depends on besides its own text, such as a
   * `.proto` a plugin reads: its content goes into the config's hash (config/document's
   * `dependsOn`), and the file provider watches it.
   */
  dependsOn(file: string): void;
}

/**
 * Checks run on the config as written (references substituted, overlays merged, nothing
 * defaulted), whether or not the schema passed, so their problems are reported with the
 * schema's in one run. They read the input defensively: any shape may reach them.
 */
export type InputCheck = (input: unknown) => IssueProblem[];

export interface ParseOptions {
  env?: Record<string, string | undefined>;
  checks?: ConfigCheck[];
  inputChecks?: InputCheck[];
  /**
   * Receives the values substituted from `${env:…}`, `${file:…}` and `${enc:…}`, for
   * redaction (also available afterwards as `secretsOf(config)`).
   */
  secrets?: SecretValues;
  /** `${file:…}` references are relative to this directory; default: the first file's. */
  baseDir?: string;
}

/** One file of a config: the base, or the overlay for an environment. */
export interface ConfigSource {
  file: string;
  text: string;
}

/** The overlay file for an environment, merged over the base file (see config/overlay). */
export interface OverlayOption {
  file: string;
  environment: string;
}

/**
 * Reads and validates a config file, merged with `overlay` when one is given; throws
 * ConfigError listing every problem, each located in the file it came from.
 */
export async function loadConfigFile(
  file: string,
  options: ParseOptions & { overlay?: OverlayOption } = {},
): Promise<GatehouseConfig> {
  const sources = [{ file, text: await readSource(file, "config file") }];
  const { overlay } = options;
  if (overlay) {
    const what = `overlay for environment "${overlay.environment}"`;
    sources.push({ file: overlay.file, text: await readSource(overlay.file, what) });
  }
  return parseSources(sources, options);
}

/** A file's text; a file that cannot be read is a ConfigError located at its start. */
async function readSource(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const reason =
      code === "ENOENT"
        ? `${what} not found`
        : code === "EISDIR"
          ? `is a directory, not a ${what}`
          : `cannot read ${what}: ${message}`;
    throw new ConfigError([{ file, line: 1, col: 1, message: reason }]);
  }
}

/** Validates config text (YAML, or JSON which is YAML too); throws ConfigError. */
export function parseConfig(
  text: string,
  file: string,
  options: ParseOptions = {},
): GatehouseConfig {
  return parseSources([{ file, text }], options);
}

/**
 * Validates a base config merged with its overlays, in order (later wins); throws
 * ConfigError whose problems each name the file, line and column they were written at.
 * A config with nothing wrong takes the fast path (config/fast-load) to the same result.
 */
export function parseSources(
  sources: readonly ConfigSource[],
  options: ParseOptions = {},
): GatehouseConfig {
  const fast = fastLoad(sources, options);
  if (!fast) return parseSourcesPositioned(sources, options);
  const secrets = options.secrets ?? fast.secrets;
  if (secrets !== fast.secrets) {
    secrets.addAll(fast.secrets);
    for (const file of fast.secrets.files) secrets.addFile(file);
  }
  processSecrets.addAll(secrets);
  rememberSecrets(fast.config, secrets);
  rememberConfigOrigin(fast.config, {
    document: fast.document,
    file: sources[0]!.file,
    ...(sources[1] && { overlay: sources[1].file }),
    warnings: configWarnings(fast.document, sources),
    ...withDependedFiles(fast.dependsOn),
  });
  return fast.config;
}

/**
 * `parseSources` on the YAML trees with positions alone, the path that locates problems
 * (tests check that both paths give the same config).
 */
export function parseSourcesPositioned(
  sources: readonly ConfigSource[],
  options: ParseOptions = {},
): GatehouseConfig {
  const secrets = options.secrets ?? new SecretValues();
  const env = options.env ?? process.env;
  const parsed = sources.map((source) => parseSource(source));
  // Problems are kept as (source, offset) until the end, then turned into FILE:LINE:COL.
  const problems: {
    source: number;
    offset: number;
    message: string;
    path?: (string | number)[];
    key?: string;
  }[] = [];
  const unresolved = new Set<string>();
  const origins: NodeOrigins = new WeakMap();
  const written = new Map<Scalar, unknown>();
  parsed.forEach(({ document }, index) => {
    const { file, text } = sources[index]!;
    const aliasProblem = expandAliases(document);
    if (aliasProblem) {
      const { line, col } = parsed[index]!.lines.linePos(aliasProblem.offset);
      throw new ConfigError([{ file, line, col, message: aliasProblem.message }]);
    }
    rememberReferences(document, written);
    const baseDir = options.baseDir ?? dirname(file);
    const found = substituteReferences(document, { env, baseDir, secrets }, text);
    // A value left unresolved is reported once, as the missing variable, not again as a bad value.
    for (const problem of found) {
      problems.push({ source: index, offset: problem.offset, message: problem.message });
      unresolved.add(`${index}:${problem.scalarOffset}`);
    }
    recordOrigin(document, index, origins);
  });
  processSecrets.addAll(secrets);
  const document = parsed[0]!.document;
  // An empty overlay (or one with only comments) changes nothing; it does not empty the config.
  for (const { document: overlay } of parsed.slice(1))
    if (overlay.contents !== null)
      document.contents = mergeOverlay(
        document.contents,
        overlay.contents,
        yamlNodes,
      ) as typeof document.contents;

  /** Problems in other files the config names, already located there. */
  const elsewhere: ConfigProblem[] = [];
  /** The files the checks said the config depends on. */
  const dependsOn: string[] = [];
  const report = (problem: PathProblem, key?: string) => {
    if (problem.at) {
      const message = `${problem.message} (${pathLabel(problem.path)})`;
      elsewhere.push({ ...problem.at, message });
      return;
    }
    const node = nodeAt(document.contents, problem.path, key);
    const source = originOf(node, origins);
    const offset = node?.range?.[0] ?? 0;
    if (key === undefined && unresolved.has(`${source}:${offset}`)) return;
    problems.push({
      source,
      offset,
      message: `${pathLabel(problem.path)}: ${problem.message}`,
      path: problem.path,
      ...(key !== undefined && { key }),
    });
  };

  const input: unknown = document.toJS() ?? {};
  const result = configSchema.safeParse(input);
  for (const problem of checkReferences(input)) report(problem);
  for (const problem of checkMethods(input)) report(problem);
  for (const check of options.inputChecks ?? [])
    for (const problem of check(input)) report(problem, problem.key);
  if (!result.success) {
    for (const issue of result.error.issues)
      for (const problem of describeIssue(issue, input, configSchema)) report(problem, problem.key);
  } else {
    // The checks need a config that passed the schema, but not one whose references resolve.
    const context: CheckContext = {
      baseDir: options.baseDir ?? dirname(sources[0]!.file),
      dependsOn: (file) => dependsOn.push(file),
    };
    for (const check of options.checks ?? [])
      for (const problem of check(result.data, context)) report(problem);
  }
  if (problems.length > 0 || elsewhere.length > 0 || !result.success) {
    problems.sort((a, b) => a.source - b.source || a.offset - b.offset);
    // A message may quote the value it is about (zod's "got the string ..."); never a secret.
    throw new ConfigError([
      ...problems.map((p) => {
        const { file } = sources[p.source]!;
        const { line, col } = parsed[p.source]!.lines.linePos(p.offset);
        const at = p.path && { path: p.path, ...(p.key !== undefined && { key: p.key }) };
        return { file, line, col, message: secrets.redactText(p.message), ...at };
      }),
      ...elsewhere.map((p) => ({ ...p, message: secrets.redactText(p.message) })),
    ]);
  }
  rememberSecrets(result.data, secrets);
  const asWrittenDocument = asWritten(document, written);
  rememberConfigOrigin(result.data, {
    document: asWrittenDocument,
    file: sources[0]!.file,
    ...(sources[1] && { overlay: sources[1].file }),
    warnings: configWarnings(asWrittenDocument, sources),
    ...withDependedFiles(dependsOn),
  });
  return result.data;
}

/** The origin's `dependsOn` for these files, read now: nothing when there are none. */
function withDependedFiles(files: readonly string[]) {
  const dependsOn = dependedFiles(files);
  return dependsOn ? { dependsOn } : {};
}

/** Records the text of every scalar holding a reference, before substitution replaces it. */
function rememberReferences(
  document: ReturnType<typeof parseDocument>,
  written: Map<Scalar, unknown>,
) {
  visit(document, {
    Scalar(_key, node) {
      if (typeof node.value === "string" && node.value.includes("${"))
        written.set(node, node.value);
    },
  });
}

/** The merged document's data with every reference as written (the secrets it resolved to left out). */
function asWritten(
  document: ReturnType<typeof parseDocument>,
  written: Map<Scalar, unknown>,
): ConfigDocument {
  const resolved = new Map<Scalar, unknown>();
  for (const [node, text] of written) {
    resolved.set(node, node.value);
    node.value = text;
  }
  try {
    return (document.toJS() ?? {}) as ConfigDocument;
  } finally {
    for (const [node, value] of resolved) node.value = value;
  }
}

/** One file parsed to a YAML tree with positions; a syntax error throws, located. */
function parseSource({ file, text }: ConfigSource) {
  const lines = new LineCounter();
  const document = parseDocument(text, {
    lineCounter: lines,
    prettyErrors: false,
    uniqueKeys: true,
    // A collection as a key is reported, located, as the unknown key it becomes; the yaml
    // package would also print a warning of its own to the process's stderr.
    logLevel: "error",
  });
  if (document.errors.length > 0) {
    // Later syntax errors are usually echoes of the first; report that one only.
    const first = document.errors[0]!;
    const message = `YAML syntax: ${first.message.split("\n")[0]}`;
    const { line, col } = lines.linePos(first.pos[0]);
    throw new ConfigError([
      { file, line, col, message: message + syntaxHint(text, lines.lineStarts, line) },
    ]);
  }
  return { document, lines };
}

/** Why a `${env:...}` (or `${file:...}`, `${enc:...}`) reference broke the YAML, when that is the likely cause. */
function syntaxHint(text: string, lineStarts: readonly number[], line: number): string {
  const source = text.slice(lineStarts[line - 1] ?? 0, lineStarts[line] ?? text.length);
  return /(^|[\s,[{])\$\{(env|file|enc):/.test(source)
    ? ` (inside [ ] or { }, quote \${env:...} references: port: "\${env:PORT}")`
    : "";
}

/** The node of the value at `path` (or of `key` in the map there); falls back to the nearest ancestor. */
export function nodeAt(
  root: unknown,
  path: readonly (string | number)[],
  key?: string,
): Node | null {
  let node = root as Node | null;
  let located = node;
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
      if (isLast && key !== undefined) return keyNode.range ? keyNode : located;
      const value = pair.value as Node | null;
      located = value?.range ? value : keyNode.range ? keyNode : located;
      node = value;
    } else if ("items" in node && Array.isArray(node.items) && typeof segment === "number") {
      node = (node.items[segment] as Node | undefined) ?? null;
      if (!node) break;
      if (node.range) located = node;
    } else break;
  }
  return located;
}
