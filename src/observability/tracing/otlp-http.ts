/**
 * @module observability/tracing/otlp-http
 * Sends encoded export requests to an OTLP/HTTP traces endpoint (JSON encoding) over a
 * kept-alive connection of its own. An export that fails or takes longer than
 * `exportTimeout` is dropped, not retried: the spans behind it keep coming, and a
 * collector that is down must cost the gateway as little as possible.
 */
import { Pool } from "undici";
import { gatehouseVersion } from "../../version.ts";

export class OtlpHttpSender {
  readonly #pool: Pool;
  readonly #path: string;
  readonly #headers: Record<string, string>;
  readonly #timeout: number;
  /** Export requests that failed or were refused. */
  failed = 0;

  constructor(endpoint: string, headers: Record<string, string>, exportTimeout: number) {
    const url = new URL(endpoint);
    // One export is under way at a time; a second connection covers a stuck first one.
    this.#pool = new Pool(url.origin, { connections: 2 });
    this.#path = `${url.pathname}${url.search}`;
    this.#headers = {
      "user-agent": `gatehouse/${gatehouseVersion}`,
      ...headers,
      "content-type": "application/json",
    };
    this.#timeout = exportTimeout;
  }

  async send(body: Buffer): Promise<void> {
    try {
      const res = await this.#pool.request({
        method: "POST",
        path: this.#path,
        headers: this.#headers,
        body,
        signal: AbortSignal.timeout(this.#timeout),
      });
      await res.body.dump();
      if (res.statusCode >= 300) this.failed++;
    } catch {
      this.failed++;
    }
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}
