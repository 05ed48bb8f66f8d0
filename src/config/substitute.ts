/**
 * @module config/substitute
 * `${env:NAME}` references in config strings, resolved on the YAML tree so that an
 * unknown variable is reported at the line and column where it was written.
 */
import { type Document, parse as parseYaml, visit } from "yaml";

const reference = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
/** A scalar that is one reference and nothing else; it takes the type of the value. */
export const wholeReference = /^\$\{env:[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;

/** A reference that could not be resolved: where it is written, and where its scalar starts. */
export interface SubstitutionProblem {
  offset: number;
  scalarOffset: number;
  message: string;
}

/**
 * Replaces `${env:NAME}` (or `${env:NAME:-default}`) in every string scalar of the
 * document, in place. As in the shell, the default is used when the variable is unset or
 * empty. A scalar that is only a reference takes the type of the value
 * (`port: ${env:PORT}` becomes a number). A scalar with an unset variable is left as written.
 * `source`, the document's text, lets a problem point at the reference itself.
 */
export function substituteEnv(
  document: Document,
  env: Record<string, string | undefined>,
  source?: string,
): SubstitutionProblem[] {
  const problems: SubstitutionProblem[] = [];
  visit(document, {
    Scalar(_key, node) {
      if (typeof node.value !== "string" || !node.value.includes("${env:")) return;
      const text = node.value;
      const [start, end] = node.range ?? [0, 0];
      let missing = false;
      const replaced = text.replace(reference, (all, name: string, fallback?: string) => {
        const set = env[name];
        const value = set === undefined || (set === "" && fallback !== undefined) ? fallback : set;
        if (value === undefined) {
          missing = true;
          const written = source?.slice(start, end).indexOf(all) ?? -1;
          problems.push({
            offset: written >= 0 ? start + written : start,
            scalarOffset: start,
            message: `environment variable ${name} is not set (write \${env:${name}:-default} to give a default)`,
          });
          return "";
        }
        return value;
      });
      if (missing) return;
      if (wholeReference.test(text)) {
        const typed: unknown = safeScalar(replaced);
        node.value = typed;
      } else {
        node.value = replaced;
      }
    },
  });
  return problems;
}

function safeScalar(text: string): unknown {
  try {
    const value: unknown = parseYaml(text);
    return value === null || typeof value !== "object" ? (value ?? text) : text;
  } catch {
    return text;
  }
}
