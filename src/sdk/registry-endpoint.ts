/**
 * @module sdk/registry-endpoint
 * Where the registry API is and how to talk to it: its base URLs and key (from the options
 * or the environment), the paths of the contract, and the error it answered with. Shared by
 * the lease worker (register, heartbeat, deregister) and the instance watch.
 */

/**
 * Where the registry API is: one base URL, or several (gateway nodes sharing one registry,
 * tried in order: see registry-nodes.ts).
 */
export type RegistryUrls = string | URL | readonly (string | URL)[];

/** The registry's base URLs and key, as a caller gives them or the environment has them. */
export interface RegistryEndpoint {
  /** Base URLs without a trailing slash, in the order they are tried, e.g. `http://10.0.0.2:9903`. */
  bases: string[];
  key: string | undefined;
}

/**
 * The endpoint from `registry` and `key`, or `GATEHOUSE_REGISTRY` (one URL, or several
 * separated by commas) and `GATEHOUSE_REGISTRY_KEY` when they are not given. `caller` names
 * the function in the error for a missing or bad URL.
 */
export function registryEndpoint(
  registry: RegistryUrls | undefined,
  key: string | undefined,
  caller: string,
): RegistryEndpoint {
  const given =
    registry ??
    process.env.GATEHOUSE_REGISTRY?.split(",")
      .map((url) => url.trim())
      .filter((url) => url !== "");
  const urls: readonly (string | URL)[] = Array.isArray(given)
    ? given
    : given === undefined
      ? []
      : [given as string | URL];
  if (urls.every((url) => String(url) === "")) {
    throw new TypeError(
      `${caller}: no registry: pass { registry: "http://host:port" } (or a list of them) or set GATEHOUSE_REGISTRY`,
    );
  }
  const chosenKey = key ?? process.env.GATEHOUSE_REGISTRY_KEY;
  return {
    bases: urls.map((url) => registryBase(url, caller)),
    key: chosenKey === "" ? undefined : chosenKey,
  };
}

/** One registry URL as a base without a trailing slash; a TypeError when it is not http(s). */
function registryBase(given: string | URL, caller: string): string {
  let url: URL;
  try {
    url = new URL(String(given));
  } catch {
    throw new TypeError(`${caller}: registry ${JSON.stringify(String(given))} is not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`${caller}: registry ${url.href} must be an http:// or https:// URL`);
  }
  return url.href.replace(/\/+$/, "");
}

/** `/registry/services/{service}`: the service's instances, and their watch stream. */
export function servicePath(service: string): string {
  return `/registry/services/${encodeURIComponent(service)}`;
}

/** `/registry/services/{service}/instances/{id}`: where an instance is registered and deregistered. */
export function instancePath(service: string, id: string): string {
  return `${servicePath(service)}/instances/${encodeURIComponent(id)}`;
}

/** Headers every registry request carries: the key, when there is one. */
export function registryHeaders(endpoint: RegistryEndpoint): Record<string, string> {
  return endpoint.key === undefined ? {} : { authorization: `Bearer ${endpoint.key}` };
}

/** Whether the registry's URL is on this host (so the instance is reached on loopback too). */
export function isLoopbackUrl(base: string): boolean {
  const host = new URL(base).hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * An answer of the registry API that refused or failed a request: its status and the
 * code and message of the error body (`{"error":{code,message,requestId}}`).
 */
export class RegistryError extends Error {
  /** The error code the registry answered with (e.g. `GATEHOUSE_REGISTRY_INVALID_INSTANCE`). */
  readonly code: string;
  /** The HTTP status of the answer; 0 when the registry could not be reached. */
  readonly status: number;
  /** Each problem the registry listed, when it listed any. */
  readonly problems: string[] | undefined;

  constructor(status: number, code: string, message: string, problems?: string[]) {
    super(message);
    this.name = "RegistryError";
    this.status = status;
    this.code = code;
    this.problems = problems;
  }
}

/** The error a registry answer carries, read from its body (any body: this never throws). */
export function registryErrorOf(status: number, body: string): RegistryError {
  try {
    const parsed = JSON.parse(body) as {
      error?: { code?: unknown; message?: unknown; problems?: unknown };
    };
    const error = parsed.error;
    if (error && typeof error.code === "string") {
      const problems = Array.isArray(error.problems) ? error.problems.map(String) : undefined;
      const message = typeof error.message === "string" ? error.message : error.code;
      return new RegistryError(status, error.code, message, problems);
    }
  } catch {
    // Not the registry's error shape: a proxy or something else answered.
  }
  return new RegistryError(status, `HTTP_${status}`, `registry answered ${status}`);
}

/**
 * Whether a refusal is final for the request as it is (a bad instance, a missing key, an
 * address outside the allowed networks): sending it again would be refused again.
 */
export function isFinalRefusal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 404 && status !== 408 && status !== 429;
}
