/**
 * @module traffic/mirror
 * A route's `mirror`: copies of a sample of its requests sent to another service, fire and
 * forget. The mirror service picks the target (its selector, its health), but a copy goes
 * through a pool of the mirror's own, never one that serves clients (the mirror service
 * may serve another route too), with its own timeout, and at most `maxInFlight` at once:
 * past that a copy is dropped, never queued, so a slow mirror costs the client nothing.
 * Its answer is read and thrown away; every outcome is counted.
 */
import { type Dispatcher, Pool } from "undici";
import type { RouteConfig } from "../config/schema/index.ts";
import type { SelectionRequest } from "../upstream/selectors/selector.ts";
import type { Service } from "../upstream/service.ts";
import type { Target } from "../upstream/target.ts";

/** How one copy ended: an answer (any status), a failure or timeout, or not sent at all. */
export type MirrorOutcome = "answered" | "failed" | "dropped" | "skipped";
export const mirrorOutcomes: readonly MirrorOutcome[] = [
  "answered",
  "failed",
  "dropped",
  "skipped",
];

/** Counts copies by route and outcome (the gateway's metrics, when on). */
export type MirrorCounter = (route: string, outcome: MirrorOutcome) => void;

/** The largest request body copied: a larger one is `skipped` (see http-proxy). */
export const maxMirroredBody = 64 * 1024;

/** One route's mirror, built with the runtime. */
export class Mirror {
  readonly #route: string;
  readonly #service: Service;
  readonly #ratio: number;
  readonly #timeout: number;
  readonly #maxInFlight: number;
  readonly #count: MirrorCounter;
  #inFlight = 0;
  /**
   * The mirror's pools, by target origin. Nothing closes them: a runtime replaced by a
   * reload leaves them idle, and idle connections close after the keep-alive timeout.
   */
  readonly #pools = new Map<string, Pool>();

  constructor(route: RouteConfig, services: ReadonlyMap<string, Service>, count: MirrorCounter) {
    const mirror = route.mirror!;
    this.#route = route.name;
    this.#service = services.get(mirror.service)!;
    this.#ratio = mirror.ratio;
    this.#timeout = mirror.timeout;
    this.#maxInFlight = mirror.maxInFlight;
    this.#count = count;
  }

  /** Whether this request is one of the sample (decided once per request). */
  sampled(): boolean {
    return this.#ratio >= 1 || Math.random() < this.#ratio;
  }

  /** A sampled request that cannot be copied (its body is too large or transformed). */
  skip(): void {
    this.#count(this.#route, "skipped");
  }

  /**
   * Sends a copy: the upstream method, path and headers (`host` first, replaced by the
   * mirror target's) and the whole body, if any. Returns at once; nothing it does can
   * throw into, or wait on, the client's request.
   */
  send(
    selection: SelectionRequest,
    method: string,
    path: string,
    headers: readonly string[],
    body: Buffer | null,
  ): void {
    if (this.#inFlight >= this.#maxInFlight) {
      this.#count(this.#route, "dropped");
      return;
    }
    const target = this.#service.select(selection);
    if (!target) {
      this.#count(this.#route, "failed");
      return;
    }
    const copy = headers.slice();
    copy[1] = target.authority;
    this.#inFlight++;
    this.#poolFor(target)
      .request({
        origin: target.origin,
        method: method as Dispatcher.HttpMethod,
        path,
        headers: copy,
        body,
        headersTimeout: this.#timeout,
        bodyTimeout: this.#timeout,
        signal: AbortSignal.timeout(this.#timeout),
      })
      .then(
        async (answer) => {
          // Read to the end so the connection is kept for the next copy.
          for await (const _ of answer.body);
          this.#settled("answered");
        },
        () => this.#settled("failed"),
      )
      .catch(() => this.#settled("failed"));
  }

  #poolFor(target: Target): Pool {
    let pool = this.#pools.get(target.origin);
    if (pool === undefined) {
      pool = new Pool(target.origin, {
        connect: { timeout: this.#timeout, ...target.tls },
        connections: this.#maxInFlight,
        keepAliveTimeout: 4_000,
        pipelining: 1,
      });
      this.#pools.set(target.origin, pool);
    }
    return pool;
  }

  #settled(outcome: MirrorOutcome): void {
    this.#inFlight--;
    this.#count(this.#route, outcome);
  }
}
