/**
 * @module plugins/cors/origins
 * Compiles a CORS origin list (exact origins, `*.example.com` wildcard subdomains,
 * regular expressions, or `*`) into one test, once, when the plugin is created.
 */

/** One configured origin pattern. */
export type OriginPattern = string | { regex: string };

/** Whether a request's `Origin` is allowed. */
export type OriginTest = (origin: string) => boolean;

const wildcardShape = /^(?:(https?):\/\/)?\*\.([a-z0-9-]+(?:\.[a-z0-9-]+)*)(?::(\d{1,5}))?$/i;

/** Why a pattern cannot be used, or undefined when it can. */
export function originPatternProblem(pattern: OriginPattern): string | undefined {
  if (typeof pattern !== "string") {
    try {
      new RegExp(pattern.regex);
      return undefined;
    } catch (error) {
      return `invalid regex: ${(error as Error).message}`;
    }
  }
  if (pattern === "*" || wildcardShape.test(pattern)) return undefined;
  if (pattern.includes("*")) {
    return `"${pattern}": a wildcard stands for whole subdomains, as in https://*.example.com`;
  }
  if (!URL.canParse(pattern)) return `"${pattern}" is not an origin like https://app.example.com`;
  const url = new URL(pattern);
  if (url.origin === "null" || `${url.origin}` !== pattern.toLowerCase().replace(/\/$/, "")) {
    return `"${pattern}" is not an origin (scheme://host[:port], no path)`;
  }
  return undefined;
}

/** A wildcard entry as a regex: one or more labels before the domain, nothing after it. */
function wildcardRegex(pattern: string): RegExp {
  const [, scheme, domain, port] = wildcardShape.exec(pattern)!;
  const escaped = domain!.toLowerCase().replaceAll(".", "\\.");
  return new RegExp(
    `^${scheme ? scheme.toLowerCase() : "https?"}://[a-z0-9-]+(?:\\.[a-z0-9-]+)*\\.${escaped}${port ? `:${port}` : ""}$`,
  );
}

/** Builds the test for a validated origin list. */
export function compileOrigins(patterns: readonly OriginPattern[]): {
  test: OriginTest;
  any: boolean;
} {
  if (patterns.includes("*")) return { test: () => true, any: true };
  const exact = new Set<string>();
  const regexes: RegExp[] = [];
  for (const pattern of patterns) {
    if (typeof pattern !== "string") {
      // Anchored: a user's `https://app\.example\.com` must not also allow `...com.evil.com`.
      regexes.push(new RegExp(`^(?:${pattern.regex})$`));
    } else if (wildcardShape.test(pattern)) regexes.push(wildcardRegex(pattern));
    else exact.add(new URL(pattern).origin);
  }
  const test: OriginTest = (origin) => {
    if (exact.has(origin)) return true;
    for (const regex of regexes) if (regex.test(origin)) return true;
    return false;
  };
  return { test, any: false };
}
