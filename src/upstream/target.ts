/**
 * @module upstream/target
 * One upstream instance and its connection pool. Selectors only ever ask
 * `available()`; health, breaker and load state hang off this object so that they can
 * outlive a config reload (see runtime/target-registry).
 */
import { Pool } from "undici";

export interface TargetOptions {
  url: string;
  weight: number;
  connectTimeout: number;
}

/** An upstream instance: where to send requests, and whether it can take one now. */
export class Target {
  readonly url: string;
  /** `http://host:port`, the pool's identity. */
  readonly origin: string;
  /** The Host header to send when the client's is not preserved. */
  readonly authority: string;
  readonly weight: number;
  readonly pool: Pool;
  /** Requests sent and not yet finished. */
  inFlight = 0;
  healthy = true;

  constructor(options: TargetOptions) {
    const url = new URL(options.url);
    this.url = options.url;
    this.origin = url.origin;
    this.authority = url.host;
    this.weight = options.weight;
    this.pool = new Pool(this.origin, {
      connect: { timeout: options.connectTimeout },
      keepAliveTimeout: 4_000,
      pipelining: 1,
    });
  }

  /** Whether a selector may pick this target now. */
  available(): boolean {
    return this.healthy;
  }

  /** Closes the pool's connections; in-flight requests are aborted. */
  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}
