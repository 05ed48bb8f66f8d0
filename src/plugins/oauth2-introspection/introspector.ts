/**
 * @module plugins/oauth2-introspection/introspector
 * Asks an RFC 7662 introspection endpoint about a token, and remembers the answer: a
 * bounded cache keyed by the token's SHA-256 (never the token), active answers no longer
 * than `ttl` nor past the token's `exp`, refusals for `negativeTtl`. Concurrent requests
 * for one token share one POST. An endpoint that cannot be reached or read is never cached.
 */
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import { Pool } from "undici";

/** What the endpoint said about a token, as the plugin acts on it. */
export type Introspection =
  | { kind: "active"; claims: Record<string, unknown> }
  | { kind: "inactive" }
  | { kind: "expired"; reason: string }
  | { kind: "unavailable"; reason: string };

export interface IntrospectorOptions {
  url: URL;
  /** The Authorization header value sent to the endpoint. */
  authorization: string | undefined;
  tokenTypeHint: string;
  timeoutMs: number;
  ttlMs: number;
  negativeTtlMs: number;
  maxEntries: number;
  /** Wall-clock milliseconds (Date.now), injectable so expiry is tested without sleeping. */
  now?: () => number;
}

interface Remembered {
  outcome: Introspection;
  until: number;
}

/** Answers larger than this are not an introspection answer. */
const maxAnswerBytes = 256 * 1024;

export class Introspector {
  readonly #options: IntrospectorOptions;
  readonly #pool: Pool;
  readonly #now: () => number;
  readonly #cache: LRUCache<string, Remembered> | undefined;
  readonly #inFlight = new Map<string, Promise<Introspection>>();
  readonly #headers: Record<string, string>;
  readonly #path: string;

  constructor(options: IntrospectorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#pool = new Pool(options.url.origin, {
      connect: { timeout: options.timeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
    });
    const cached = options.ttlMs > 0 || options.negativeTtlMs > 0;
    this.#cache = cached ? new LRUCache({ max: options.maxEntries }) : undefined;
    this.#headers = {
      "content-type": "application/x-www-form-urlencoded",
      accept: "application/json",
      ...(options.authorization ? { authorization: options.authorization } : {}),
    };
    this.#path = options.url.pathname + options.url.search;
  }

  /** The endpoint's verdict on `token`, from the cache when it is fresh there. */
  introspect(token: string): Introspection | Promise<Introspection> {
    const key = createHash("sha256").update(token).digest("base64");
    const remembered = this.#cache?.get(key);
    if (remembered !== undefined) {
      if (this.#now() < remembered.until) return this.#checkTime(remembered.outcome);
      this.#cache!.delete(key);
    }
    let pending = this.#inFlight.get(key);
    if (pending === undefined) {
      pending = this.#ask(token).then((outcome) => {
        this.#remember(key, outcome);
        return this.#checkTime(outcome);
      });
      pending.finally(() => this.#inFlight.delete(key)).catch(() => {});
      this.#inFlight.set(key, pending);
    }
    return pending;
  }

  /** Releases the connections to the endpoint. */
  close(): Promise<void> {
    return this.#pool.close();
  }

  /** An active answer whose `exp` has passed (or whose `nbf` has not come) is refused. */
  #checkTime(outcome: Introspection): Introspection {
    if (outcome.kind !== "active") return outcome;
    const seconds = this.#now() / 1000;
    const { exp, nbf } = outcome.claims;
    if (typeof exp === "number" && exp <= seconds)
      return { kind: "expired", reason: "The token has expired" };
    if (typeof nbf === "number" && nbf > seconds)
      return { kind: "expired", reason: "The token is not valid yet" };
    return outcome;
  }

  #remember(key: string, outcome: Introspection): void {
    if (this.#cache === undefined || outcome.kind === "unavailable") return;
    const now = this.#now();
    let until =
      now + (outcome.kind === "active" ? this.#options.ttlMs : this.#options.negativeTtlMs);
    const exp = outcome.kind === "active" ? outcome.claims.exp : undefined;
    if (typeof exp === "number") until = Math.min(until, exp * 1000);
    if (until > now) this.#cache.set(key, { outcome, until });
  }

  async #ask(token: string): Promise<Introspection> {
    const body = new URLSearchParams({ token, token_type_hint: this.#options.tokenTypeHint });
    let text: string;
    try {
      const response = await this.#pool.request({
        method: "POST",
        path: this.#path,
        headers: this.#headers,
        body: body.toString(),
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      if (response.statusCode !== 200) {
        await response.body.dump();
        return unavailable(`the introspection endpoint answered ${response.statusCode}`);
      }
      text = await readLimited(response.body);
    } catch (error) {
      return unavailable(`the introspection endpoint failed: ${(error as Error).message}`);
    }
    let answer: unknown;
    try {
      answer = JSON.parse(text);
    } catch {
      return unavailable("the introspection answer is not JSON");
    }
    const claims = answer as Record<string, unknown> | null;
    if (typeof claims !== "object" || claims === null || typeof claims.active !== "boolean")
      return unavailable('the introspection answer has no boolean "active"');
    return claims.active ? { kind: "active", claims } : { kind: "inactive" };
  }
}

const unavailable = (reason: string): Introspection => ({ kind: "unavailable", reason });

async function readLimited(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > maxAnswerBytes) throw new Error(`answer larger than ${maxAnswerBytes} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}
