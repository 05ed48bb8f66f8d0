/**
 * @module config/substitute
 * References in config strings, resolved on the YAML tree so that a problem is reported at
 * the line and column where the reference was written: `${env:NAME}` (an environment
 * variable), `${file:PATH}` (a file's content) and `${enc:v1....}` (a value encrypted with
 * `gatehouse secret encrypt`). Every value they bring in is recorded as a secret.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: messages show the literal ${...} syntax
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type Document, parse as parseYaml, visit } from "yaml";
import type { SecretSource, SecretValues } from "./secret-values.ts";
import { decryptSecret, SecretError, secretKeyFromEnv } from "./secrets.ts";

const reference = /\$\{(env|file|enc):([^}]*)\}/g;
const envBody = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;
/** A scalar that is one `${env:...}` reference and nothing else; it takes the type of the value. */
export const wholeReference = /^\$\{env:[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/** A reference that could not be resolved: where it is written, and where its scalar starts. */
export interface SubstitutionProblem {
  offset: number;
  scalarOffset: number;
  message: string;
}

/** What references are resolved against. */
export interface SubstitutionContext {
  env: Record<string, string | undefined>;
  /** `${file:PATH}` is relative to this directory (the config file's). */
  baseDir: string;
  /** Receives every value substituted from the environment, a file or a decryption. */
  secrets: SecretValues;
}

/** The value of one reference, or why there is none. */
type Resolved = { value: string; source?: SecretSource } | { problem: string } | undefined;

/**
 * Replaces every reference in every string scalar of the document, in place. As in the
 * shell, an env default is used when the variable is unset or empty. A scalar that is only
 * an `${env:...}` reference takes the type of the value (`port: ${env:PORT}` becomes a
 * number); `${file:...}` and `${enc:...}` always give strings, since secrets are text. A
 * scalar with a reference that cannot be resolved is left as written. Substituted text is
 * not searched for references again. `source`, the document's text, lets a problem point
 * at the reference itself.
 */
export function substituteReferences(
  document: Document,
  context: SubstitutionContext,
  source?: string,
): SubstitutionProblem[] {
  const problems: SubstitutionProblem[] = [];
  const resolver = createResolver(context);
  visit(document, {
    Scalar(_key, node) {
      if (typeof node.value !== "string" || !node.value.includes("${")) return;
      const [start, end] = node.range ?? [0, 0];
      const result = substituteText(node.value, resolver, context.secrets, (all, problem) => {
        const written = source?.slice(start, end).indexOf(all) ?? -1;
        problems.push({
          offset: written >= 0 ? start + written : start,
          scalarOffset: start,
          message: problem,
        });
      });
      if (result) node.value = result.value;
    },
  });
  return problems;
}

/**
 * Substitutes one string as `substituteReferences` does a scalar, for a caller holding
 * plain data rather than a YAML tree (the loader's fast path): the new value, or undefined
 * when a reference cannot be resolved. Files read and secrets go to `context.secrets`.
 */
export function createSubstituter(
  context: SubstitutionContext,
): (text: string) => { value: unknown } | undefined {
  const resolver = createResolver(context);
  return (text) => substituteText(text, resolver, context.secrets, () => {});
}

/** One string with its references replaced; undefined, and `onProblem` told, when one fails. */
function substituteText(
  text: string,
  resolver: ReturnType<typeof createResolver>,
  secrets: SecretValues,
  onProblem: (written: string, problem: string) => void,
): { value: unknown } | undefined {
  let failed = false;
  const found: { value: string; source?: SecretSource }[] = [];
  const replaced = text.replace(reference, (all, kind: string, body: string) => {
    const resolved = resolver(kind, body);
    if (resolved === undefined) return all;
    if ("problem" in resolved) {
      failed = true;
      onProblem(all, resolved.problem);
      return "";
    }
    found.push(resolved);
    return resolved.value;
  });
  if (failed) return undefined;
  // Only `${env:...}` is typed: a numeric PIN from a file or `${enc:...}` is still text.
  if (wholeReference.test(text)) {
    const typed: unknown = safeScalar(replaced);
    // A port or a flag is not a secret; a string from the environment may be.
    if (typeof typed !== "string") return { value: typed };
    for (const { value, source: from } of found) if (from) secrets.add(value, from);
    return { value: typed };
  }
  for (const { value, source: from } of found) if (from) secrets.add(value, from);
  return { value: replaced };
}

/** Resolves one reference; the secret key is read once, at the first `${enc:...}`. */
function createResolver(context: SubstitutionContext) {
  let key: Buffer | SecretError | undefined;
  const secretKey = (): Buffer | SecretError => {
    if (key === undefined) {
      try {
        key = secretKeyFromEnv(context.env);
      } catch (error) {
        if (!(error instanceof SecretError)) throw error;
        key = error;
      }
    }
    return key;
  };
  return (kind: string, body: string): Resolved => {
    if (kind === "env") return resolveEnv(body, context.env);
    if (kind === "file") return resolveFile(body, context);
    const found = secretKey();
    if (found instanceof SecretError) return { problem: `\${enc:...}: ${found.message}` };
    try {
      return { value: decryptSecret(body, found), source: "enc" };
    } catch (error) {
      if (!(error instanceof SecretError)) throw error;
      return { problem: `\${enc:...}: ${error.message}` };
    }
  };
}

function resolveEnv(body: string, env: Record<string, string | undefined>): Resolved {
  const match = envBody.exec(body);
  // Not a variable name: not a reference, so left as written.
  if (!match) return undefined;
  const [, name, fallback] = match as unknown as [string, string, string | undefined];
  const set = env[name];
  if (set !== undefined && !(set === "" && fallback !== undefined))
    return { value: set, source: "env" };
  if (fallback !== undefined) return { value: fallback };
  return {
    problem: `environment variable ${name} is not set (write \${env:${name}:-default} to give a default)`,
  };
}

/** The file's content without its final line ending, which editors and `echo` add. */
function resolveFile(path: string, { baseDir, secrets }: SubstitutionContext): Resolved {
  if (path === "") return { problem: "${file:...} needs a path: ${file:secrets/api-key}" };
  const full = resolve(baseDir, path);
  // Recorded even when unreadable: whoever watches the config's files watches this one too.
  secrets.addFile(full);
  try {
    return { value: readFileSync(full, "utf8").replace(/\r?\n$/, ""), source: "file" };
  } catch (error) {
    const { code } = error as NodeJS.ErrnoException;
    const reason =
      code === "ENOENT"
        ? "file not found"
        : code === "EISDIR"
          ? "is a directory"
          : code === "EACCES"
            ? "permission denied"
            : `cannot read it (${code ?? "unknown error"})`;
    return { problem: `\${file:${path}}: ${reason} (${full})` };
  }
}

function safeScalar(text: string): unknown {
  try {
    const value: unknown = parseYaml(text);
    // Numbers and flags are typed; any string stays as written (YAML would fold a PEM's
    // line breaks into spaces, and cut a value at " #").
    return typeof value === "number" || typeof value === "boolean" ? value : text;
  } catch {
    return text;
  }
}
