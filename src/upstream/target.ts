/**
 * @module upstream/target
 * One upstream instance, its connection pool and its state. Selectors only ever ask
 * `available()`; health, ejection, breaker and load hang off this object so that they
 * outlive a config reload (see runtime/target-registry). A transition of its state is
 * told to its owner (the registry), which tells the node's other threads.
 */
import { createHash } from "node:crypto";
import { Pool } from "undici";
import type { UpstreamTls } from "../config/schema/tls.ts";
import { Http2SessionPool } from "../proxy/grpc/session-pool.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { Outcome, OutcomeObserver } from "./outcome.ts";
import { PeakEwma } from "./peak-ewma.ts";

export interface TargetOptions {
  url: string;
  /** The service the target belongs to (part of its identity: runtime/target-registry). */
  service?: string;
  weight: number;
  connectTimeout: number;
  /** `grpc`: requests go over HTTP/2 sessions (`sessions`); default `http`. */
  protocol?: TargetProtocol;
  /** TLS towards an `https://` target: CA, client certificate, server name, verification. */
  tls?: UpstreamTls;
  zone?: string | undefined;
  /** The instance's version (registry targets). */
  version?: string | undefined;
  /** The instance's tags (registry targets). */
  tags?: readonly string[] | undefined;
  metadata?: Readonly<Record<string, string>> | undefined;
  healthCheck?: TargetHealthCheck | undefined;
  clock?: Clock;
  /** Told of every transition the target's health checker, breaker or outlier detection makes. */
  onTransition?: (target: Target, transition: TargetTransition) => void;
}

/**
 * Where a target asks to be probed, on top of its service's `healthCheck.active` (a
 * registry instance's `healthCheck`): this path, and this interval when given.
 */
export interface TargetHealthCheck {
  path: string;
  intervalMs?: number | undefined;
}

/** How a target is spoken to: HTTP/1.1 (the undici pool) or gRPC over HTTP/2 sessions. */
export type TargetProtocol = "http" | "grpc";

/** A gRPC target's HTTP/2 session left without a stream for this long is closed. */
const sessionIdleTimeout = 60_000;

/**
 * A change to a target's state that the rest of the node must learn of. Plain data, so
 * it can be posted to another thread; times are durations (each thread's clock has its
 * own origin).
 */
export type TargetTransition =
  | { kind: "health"; health: ActiveHealth }
  | { kind: "breaker"; state: "open" | "closed"; openForMs?: number }
  | { kind: "ejection"; ejections: number; durationMs: number };

/**
 * What makes two targets the same one: service, origin, connect timeout and protocol (the
 * pool's settings). The same config gives the same identities in every thread.
 */
export function targetIdentity(target: {
  service?: string;
  url: string;
  connectTimeout: number;
  protocol?: TargetProtocol;
  tls?: UpstreamTls;
}): string {
  return identityAt(target, new URL(target.url).origin);
}

/** targetIdentity, with the URL's origin already parsed. */
function identityAt(
  target: {
    service?: string;
    connectTimeout: number;
    protocol?: TargetProtocol;
    tls?: UpstreamTls;
  },
  origin: string,
): string {
  let identity = `${target.service ?? ""}|${origin}|${target.connectTimeout}`;
  if (target.protocol === "grpc") identity += "|grpc";
  // A digest, not the settings: the identity is logged and shown, a key would be in it.
  if (target.tls) identity += `|tls:${tlsDigest(target.tls)}`;
  return identity;
}

/** A short digest of TLS settings: the same settings, the same digest, in every thread. */
function tlsDigest(tls: UpstreamTls): string {
  return createHash("sha256").update(JSON.stringify(tls)).digest("hex").slice(0, 12);
}

/** TLS options for a connection to a target (undici's `connect`, node:tls, node:https). */
export function tlsOptionsOf(tls: UpstreamTls | undefined): ConnectionTlsOptions {
  if (!tls) return {};
  return {
    ...(tls.ca !== undefined && { ca: tls.ca }),
    ...(tls.cert !== undefined && { cert: tls.cert, key: tls.key }),
    ...(tls.serverName !== undefined && { servername: tls.serverName }),
    rejectUnauthorized: tls.verify,
  };
}

/** The TLS options every client API here takes alike. */
export interface ConnectionTlsOptions {
  ca?: string;
  cert?: string;
  key?: string | undefined;
  servername?: string;
  rejectUnauthorized?: boolean;
}

/** A per-target circuit breaker, as the target and the proxy use it. */
export interface TargetBreaker extends OutcomeObserver {
  readonly state: "closed" | "open" | "half-open";
  /** Whether a request may be sent now. No side effects: selectors call it freely. */
  permits(): boolean;
  /** A request was sent (half-open: it takes one of the probe slots). */
  onDispatch(): void;
}

/** Active health as last probed: `unknown` until the first probe when so configured. */
export type ActiveHealth = "healthy" | "unhealthy" | "unknown";

/** An upstream instance: where to send requests, and whether it can take one now. */
export class Target {
  readonly url: string;
  readonly service: string;
  /** See targetIdentity. */
  readonly identity: string;
  /** `http://host:port`, the pool's identity. */
  readonly origin: string;
  /** The Host header to send when the client's is not preserved. */
  readonly authority: string;
  readonly hostname: string;
  readonly port: number;
  weight: number;
  zone: string | undefined;
  version: string | undefined;
  tags: readonly string[];
  metadata: Readonly<Record<string, string>>;
  /** Where the target asks to be probed, if it says (see TargetHealthCheck). */
  healthCheck: TargetHealthCheck | undefined;
  readonly protocol: TargetProtocol;
  /** TLS options for connections to an `https://` target (empty: the defaults). */
  readonly tls: ConnectionTlsOptions;
  readonly clock: Clock;
  /** Requests sent and not yet finished. */
  inFlight = 0;
  /** Over this many requests in flight the target is full; 0 means no limit. */
  maxConnections = 0;
  /** Set by the active health checker. */
  health: ActiveHealth = "healthy";
  /**
   * Set by outlier detection: not picked before this time (clock ms). It stays set after
   * that time until a try is answered (outlier detection then clears it): the target is
   * on trial meanwhile, and takes one try at a time.
   */
  ejectedUntil = 0;
  /** A try sent while on trial has not finished yet: no other is sent until it has. */
  trialInFlight = false;
  /** How many times outlier detection ejected this target (its ejection time grows with it). */
  ejections = 0;
  breaker: TargetBreaker | undefined;
  /** Set while the target's service is in panic: health, ejection and breaker are ignored. */
  ignoreHealth = false;
  /** Response-time estimate for least-response-time. */
  readonly latency: PeakEwma;
  /** Further observers of this target's outcomes (outlier detection). */
  readonly observers = new Set<(target: Target, outcome: Outcome) => void>();
  readonly #onTransition: TargetOptions["onTransition"];
  readonly #connectTimeout: number;
  /** Made on first use, so that HTTP targets never have one. */
  #sessions: Http2SessionPool | undefined;
  /**
   * Made on first use too: a pool is a few kilobytes of queues, and a registration storm
   * makes thousands of targets before the first request reaches any (gRPC targets never use one).
   */
  #pool: Pool | undefined;
  #closed = false;

  constructor(options: TargetOptions) {
    const url = new URL(options.url);
    this.url = options.url;
    this.service = options.service ?? "";
    this.origin = url.origin;
    this.identity = identityAt(options, this.origin);
    this.#onTransition = options.onTransition;
    this.authority = url.host;
    this.hostname = url.hostname;
    this.port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
    this.weight = options.weight;
    this.zone = options.zone;
    this.version = options.version;
    this.tags = options.tags ?? [];
    this.metadata = options.metadata ?? {};
    this.healthCheck = options.healthCheck;
    this.protocol = options.protocol ?? "http";
    this.#connectTimeout = options.connectTimeout;
    this.clock = options.clock ?? systemClock;
    this.latency = new PeakEwma(this.clock);
    this.tls = tlsOptionsOf(options.tls);
  }

  /** The target's HTTP/1.1 connection pool, made on first use; once closed it takes no request. */
  get pool(): Pool {
    if (!this.#pool) {
      this.#pool = new Pool(this.origin, {
        connect: { timeout: this.#connectTimeout, ...this.tls },
        keepAliveTimeout: 4_000,
        pipelining: 1,
      });
      if (this.#closed) void this.#pool.close();
    }
    return this.#pool;
  }

  /** Closed (let go by its registry, or shut down): it takes no new request. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The target's HTTP/2 sessions (h2c for `http://`, h2 over TLS for `https://`), made on
   * first use. Only a `grpc` target has them; once the target is closed they take no stream.
   */
  get sessions(): Http2SessionPool {
    if (this.protocol !== "grpc") throw new Error(`${this.url} is not a grpc target`);
    if (!this.#sessions) {
      this.#sessions = new Http2SessionPool(this.origin, {
        connectTimeout: this.#connectTimeout,
        idleTimeout: sessionIdleTimeout,
        tls: this.tls,
      });
      if (this.#closed) void this.#sessions.close();
    }
    return this.#sessions;
  }

  /** Healthy, not ejected, breaker permitting, and not full: a selector may pick it. */
  available(): boolean {
    return (
      (this.ignoreHealth || this.usable()) &&
      (this.maxConnections === 0 || this.inFlight < this.maxConnections)
    );
  }

  /** Healthy, not ejected (nor on trial with a try out) and breaker permitting, whatever its load. */
  usable(): boolean {
    return (
      this.health === "healthy" &&
      (this.ejectedUntil === 0 || (!this.trialInFlight && this.clock.now() >= this.ejectedUntil)) &&
      (this.breaker === undefined || this.breaker.permits())
    );
  }

  /**
   * A try was sent to this target. Returns whether it is the try of a target on trial
   * after an ejection; pass that to `onOutcome`, or to `onSettled` if it has no outcome.
   */
  onDispatch(): boolean {
    this.inFlight++;
    this.breaker?.onDispatch();
    // Picked while ejectedUntil is set and not in panic: its ejection is over, it is on trial.
    if (this.ejectedUntil === 0 || this.ignoreHealth) return false;
    this.trialInFlight = true;
    return true;
  }

  /**
   * A try's outcome is known (its response headers, or its failure): observers learn from it.
   * `trial` (what `onDispatch` returned) ends the trial here, not when the try settles: an
   * answered trial's body may stream for hours, and the target must not stay out meanwhile.
   */
  onOutcome(outcome: Outcome, trial = false): void {
    if (trial) this.trialInFlight = false;
    this.latency.record(outcome.durationMs);
    this.breaker?.record(outcome);
    for (const observer of this.observers) observer(this, outcome);
  }

  /** A try is over, body and all; `trial`: it was a trial that `onOutcome` did not end. */
  onSettled(trial = false): void {
    this.inFlight--;
    if (trial) this.trialInFlight = false;
  }

  /** Its health checker, breaker or outlier detection moved it: the owner hears of it. */
  transitioned(transition: TargetTransition): void {
    this.#onTransition?.(this, transition);
  }

  /** Stops taking requests; requests in flight finish, then the connections close. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#pool?.close(), this.#sessions?.close()]);
  }

  /** Closes the pool's connections; in-flight requests are aborted. */
  async destroy(): Promise<void> {
    this.#closed = true;
    await Promise.all([this.#pool?.destroy(), this.#sessions?.destroy()]);
  }
}
