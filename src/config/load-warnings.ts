/**
 * @module config/load-warnings
 * What a config load warns about: things that are valid but unwise, each located
 * FILE:LINE:COL like a problem, and logged by the gateway that serves the config (and
 * printed by `gatehouse validate`) without refusing it. One today: a secret written into
 * a URL (its user info or query), which belongs in a `${env:…}`, `${file:…}` or `${enc:…}`
 * reference instead, where the admin API, diffs and logs never show it.
 */
import { isScalar, LineCounter, parseDocument, visit } from "yaml";
import type { ConfigDocument } from "./document.ts";
import type { ConfigProblem, ConfigSource } from "./load.ts";
import { pathLabel } from "./semantics.ts";
import { urlCredentials } from "./url-credentials.ts";

/** A string of the document holding a secret, where it is and what it holds. */
interface Finding {
  path: (string | number)[];
  value: string;
  what: string[];
}

/** The warnings for `document` (as written), located in `sources` (base first, overlays after). */
export function configWarnings(
  document: ConfigDocument,
  sources: readonly ConfigSource[],
): ConfigProblem[] {
  const findings = credentialUrls(document);
  if (findings.length === 0) return [];
  const locate = locator(sources);
  return findings.map(({ path, value, what }) => ({
    ...locate(value),
    message: `${pathLabel(path)}: the URL has ${what.join(" and ")}; write the secret as a \${env:…}, \${file:…} or \${enc:…} reference (see docs/control-plane.md, Secrets)`,
  }));
}

/**
 * Every string of `document` that is a URL with a literal credential. One path is shared
 * by the whole walk and copied only for a finding: a config of 10,000 routes is walked
 * on every load. (Recursive: the loader has walked the same data recursively already.)
 */
function credentialUrls(document: ConfigDocument): Finding[] {
  const findings: Finding[] = [];
  const path: (string | number)[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === "string") {
      if (!value.includes("://")) return;
      const what = urlCredentials(value);
      if (what.length > 0) findings.push({ path: [...path], value, what });
    } else if (Array.isArray(value)) {
      for (let index = 0; index < value.length; index++) {
        path.push(index);
        walk(value[index]);
        path.pop();
      }
    } else if (value !== null && typeof value === "object") {
      for (const key in value) {
        path.push(key);
        walk((value as Record<string, unknown>)[key]);
        path.pop();
      }
    }
  };
  walk(document);
  return findings;
}

/**
 * Where a string is written: the first scalar with that value, in the last file that has
 * one (an overlay's value wins over the base's). Each file is parsed with positions once,
 * and only when there is something to locate.
 */
function locator(sources: readonly ConfigSource[]) {
  const parsed = new Map<number, { scalars: Map<string, number>; lines: LineCounter }>();
  const positions = (index: number) => {
    let entry = parsed.get(index);
    if (!entry) {
      const lines = new LineCounter();
      const scalars = new Map<string, number>();
      visit(parseDocument(sources[index]!.text, { lineCounter: lines }), {
        Scalar(_key, node) {
          if (isScalar(node) && typeof node.value === "string" && !scalars.has(node.value))
            scalars.set(node.value, node.range?.[0] ?? 0);
        },
      });
      entry = { scalars, lines };
      parsed.set(index, entry);
    }
    return entry;
  };
  return (value: string): Omit<ConfigProblem, "message"> => {
    for (let index = sources.length - 1; index >= 0; index--) {
      const { scalars, lines } = positions(index);
      const offset = scalars.get(value);
      if (offset !== undefined) return { file: sources[index]!.file, ...lines.linePos(offset) };
    }
    return { file: sources[0]!.file, line: 1, col: 1 };
  };
}
