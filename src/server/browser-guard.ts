/**
 * @module server/browser-guard
 * Keeps web pages away from the listeners that are not for them (the admin API and the
 * status listener). A page in a browser can send requests to any address its user can
 * reach, loopback included: a cross-origin "simple" request (a form, or fetch with a
 * `text/plain` body) is sent without asking, and DNS rebinding lets a page on a name it
 * controls read answers from 127.0.0.1. So, on both listeners, the `Host` must name the
 * listener (a loopback name, an IP literal, or an allowed host), and on the admin API a
 * change (POST, PUT, PATCH, DELETE) must come from no origin (curl, scripts), the
 * listener's own origin or an allowed one, with a body a form cannot send. The checks
 * read a few headers and allocate nothing for an ordinary request.
 */
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import { isIP } from "node:net";
import type { ErrorCode } from "../errors.ts";
import { compileOrigins, type OriginPattern } from "../plugins/cors/origins.ts";

/** Why a request is refused: a catalogue code and the sentence for the client. */
export interface Refusal {
  code: ErrorCode;
  message: string;
}

export interface BrowserGuardOptions {
  /** The setting the refusals point to, e.g. `gateway.admin`. */
  setting: string;
  /** Host names (`name` or `*.domain`) accepted besides loopback names and IP literals. */
  allowedHosts: readonly string[];
  /**
   * Origins that may make changes besides the listener's own. Left out for a listener that
   * takes no changes (the status listener): only its Host is checked.
   */
  allowedOrigins?: readonly OriginPattern[];
}

export interface BrowserGuard {
  /** The refusal for `req`, or undefined when it may go on. */
  check(req: IncomingMessage): Refusal | undefined;
  /**
   * The CORS headers for an allowed origin's request (a preflight gets the methods and
   * headers too); undefined for any other request, which then gets none.
   */
  cors(req: IncomingMessage, preflight: boolean): OutgoingHttpHeaders | undefined;
}

const changes = new Set(["POST", "PUT", "PATCH", "DELETE"]);
/** The media types an HTML form can send cross-origin without a preflight. */
const formTypes =
  /^\s*(text\/plain|application\/x-www-form-urlencoded|multipart\/form-data)\s*(;|$)/i;
/** What a change's body may be: JSON (`application/json`, `…+json`) or YAML. */
const bodyTypes =
  /^\s*(application\/(json|[\w.+-]+\+json|yaml|x-yaml)|text\/(yaml|x-yaml))\s*(;|$)/i;
const hostShape = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::\d*)?$/i;

/** Builds the guard for one listener, once, from its settings. */
export function createBrowserGuard(options: BrowserGuardOptions): BrowserGuard {
  const { setting } = options;
  const exactHosts = new Set<string>();
  const hostSuffixes: string[] = [];
  for (const host of options.allowedHosts) {
    const name = host.toLowerCase();
    if (name.startsWith("*.")) hostSuffixes.push(name.slice(1));
    else exactHosts.add(name);
  }
  const takesChanges = options.allowedOrigins !== undefined;
  const allowedOrigin = compileOrigins(options.allowedOrigins ?? []).test;

  function hostAllowed(header: string): boolean {
    const match = hostShape.exec(header);
    if (!match) return false;
    let name = match[1]!.toLowerCase();
    if (name.startsWith("[")) return isIP(name.slice(1, -1)) === 6;
    if (name.endsWith(".")) name = name.slice(0, -1);
    if (isIP(name) === 4 || name === "localhost" || name.endsWith(".localhost")) return true;
    if (exactHosts.has(name)) return true;
    for (const suffix of hostSuffixes) if (name.endsWith(suffix)) return true;
    return false;
  }

  /** Whether `origin` is this listener's own (the page was served by it, under this Host). */
  function ownOrigin(origin: string, host: string | undefined): boolean {
    if (host === undefined || !URL.canParse(origin)) return false;
    const { protocol, host: originHost } = new URL(origin);
    if (protocol !== "http:" && protocol !== "https:") return false;
    // Scheme aside (TLS may end at a proxy in front): the same host and port.
    return (
      URL.canParse(`${protocol}//${host}`) && new URL(`${protocol}//${host}`).host === originHost
    );
  }

  function originRefusal(req: IncomingMessage): Refusal | undefined {
    const origin = req.headers.origin;
    if (origin === undefined) {
      // Browsers send Origin with every change; one that says it is cross-site and has none
      // is refused all the same.
      const site = req.headers["sec-fetch-site"];
      if (site === undefined || site === "same-origin" || site === "none") return undefined;
      return {
        code: "GATEHOUSE_ORIGIN_NOT_ALLOWED",
        message: `a ${site} request from a browser page may not make changes here`,
      };
    }
    if (ownOrigin(origin, req.headers.host) || allowedOrigin(origin)) return undefined;
    return {
      code: "GATEHOUSE_ORIGIN_NOT_ALLOWED",
      message: `a page from ${origin} may not make changes here (allow it in ${setting}.allowedOrigins)`,
    };
  }

  function typeRefusal(req: IncomingMessage): Refusal | undefined {
    const type = req.headers["content-type"];
    const length = req.headers["content-length"];
    const hasBody =
      req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
    // A form's type is refused even without a body: an empty form still POSTs a rollback.
    const acceptable =
      type === undefined ? !hasBody : !formTypes.test(type) && (!hasBody || bodyTypes.test(type));
    if (acceptable) return undefined;
    return {
      code: "GATEHOUSE_UNSUPPORTED_MEDIA_TYPE",
      message: `a change takes a JSON body (Content-Type: application/json) or YAML (application/yaml), not ${type ?? "a body without a Content-Type"}`,
    };
  }

  return {
    check(req) {
      const host = req.headers.host;
      // No browser sends a request without Host (only HTTP/1.0 can omit it).
      if (host !== undefined && !hostAllowed(host))
        return {
          code: "GATEHOUSE_HOST_NOT_ALLOWED",
          message: `Host ${JSON.stringify(host)} does not name this listener (allow it in ${setting}.allowedHosts)`,
        };
      if (!takesChanges || !changes.has(req.method ?? "")) return undefined;
      return originRefusal(req) ?? typeRefusal(req);
    },
    cors(req, preflight) {
      const origin = req.headers.origin;
      if (origin === undefined || !allowedOrigin(origin)) return undefined;
      const headers: OutgoingHttpHeaders = {
        "access-control-allow-origin": origin,
        vary: "Origin",
      };
      if (preflight) {
        headers["access-control-allow-methods"] = "GET, HEAD, POST, PUT, PATCH, DELETE";
        headers["access-control-allow-headers"] =
          "authorization, content-type, if-match, x-admin-key";
        headers["access-control-max-age"] = "600";
      } else headers["access-control-expose-headers"] = "etag, location, x-request-id";
      return headers;
    },
  };
}
