/**
 * @module sdk/lease-worker
 * The worker thread that keeps a process's instances registered, one InstanceLease each: it
 * registers an instance, renews its lease every third of its TTL, registers it again when
 * the registry forgot it (a heartbeat answered 404: the lease ran out or the registry
 * restarted), retries with backoff while the registry cannot be reached, and deregisters it
 * when told to close. It runs on its own event loop, so a service whose main thread is busy
 * for longer than its TTL keeps its lease (a heartbeat on the main loop would wait behind
 * the work, as Moleculer's did). One thread serves every registration of the process: a
 * hundred instances cost a hundred timers, not a hundred threads.
 */
import { parentPort } from "node:worker_threads";
import type { FromLeaseWorker, Lease, LeaseData, ToLeaseWorker } from "./lease-messages.ts";
import {
  instancePath,
  isFinalRefusal,
  RegistryError,
  registryErrorOf,
  registryHeaders,
} from "./registry-endpoint.ts";

const port = parentPort!;

/** First retry delay; doubled on each failure in a row, with full jitter. */
const backoffBase = 100;
/** Longest wait between registration tries while the registry is away. */
const registerBackoffMax = 5_000;
/** Longest wait for one registry request before it counts as failed. */
const requestTimeoutMax = 10_000;

function post(message: FromLeaseWorker): void {
  port.postMessage(message);
}

function failureOf(status: number, text: string): RegistryError {
  return status === 0
    ? new RegistryError(0, "REGISTRY_UNREACHABLE", `registry unreachable: ${text}`)
    : registryErrorOf(status, text);
}

/** The lease in a registry answer; undefined when the body is not one (a proxy answered, say). */
function leaseOf(text: string): Lease | undefined {
  try {
    const parsed = JSON.parse(text) as Lease;
    return typeof parsed?.ttlMs === "number" && parsed.ttlMs > 0 ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** One instance kept registered. */
class InstanceLease {
  readonly #key: number;
  readonly #url: string;
  readonly #headers: Record<string, string>;
  readonly #instance: LeaseData["instance"];
  #lease: Lease | undefined;
  #everRegistered = false;
  /** A registration request is on its way: the registry may have the instance without saying so yet. */
  #registering = false;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #closing = false;
  /** Aborts the registry request in flight (a close does not wait for it). */
  #inFlight: AbortController | undefined;

  constructor(key: number, { endpoint, service, id, instance }: LeaseData) {
    this.#key = key;
    this.#url = endpoint.base + instancePath(service, id);
    this.#headers = registryHeaders(endpoint);
    this.#instance = instance;
  }

  start(): void {
    void this.#register();
  }

  /** Full jitter over an exponential ceiling (the same shape as the gateway's retry backoff). */
  #backoff(ceilingMax: number): number {
    const ceiling = Math.min(ceilingMax, backoffBase * 2 ** this.#failures);
    this.#failures++;
    return Math.max(10, Math.floor(Math.random() * ceiling));
  }

  /** A third of the TTL: two heartbeats may be lost before the lease runs out. */
  #heartbeatInterval(): number {
    return Math.max(10, Math.floor((this.#lease?.ttlMs ?? 10_000) / 3));
  }

  #schedule(step: () => Promise<void>, delay: number): void {
    if (this.#closing) return;
    this.#timer = setTimeout(() => void step.call(this), delay);
  }

  /** One registry request; a network failure or timeout comes back as status 0. */
  async #send(
    method: string,
    url: string,
    body?: unknown,
  ): Promise<{ status: number; text: string }> {
    const controller = new AbortController();
    this.#inFlight = controller;
    const timeout = setTimeout(
      () => controller.abort(),
      Math.min(requestTimeoutMax, Math.max(1_000, this.#heartbeatInterval())),
    );
    try {
      const response = await fetch(url, {
        method,
        headers:
          body === undefined
            ? this.#headers
            : { ...this.#headers, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
      });
      return { status: response.status, text: await response.text() };
    } catch (error) {
      return { status: 0, text: (error as Error).message };
    } finally {
      clearTimeout(timeout);
      if (this.#inFlight === controller) this.#inFlight = undefined;
    }
  }

  #retryIn(delayMs: number, error: RegistryError): void {
    post({
      type: "retry",
      key: this.#key,
      status: error.status,
      code: error.code,
      message: error.message,
      delayMs,
    });
  }

  async #register(): Promise<void> {
    this.#registering = true;
    const { status, text } = await this.#send("PUT", this.#url, this.#instance);
    this.#registering = false;
    if (this.#closing) return;
    const granted = status === 200 || status === 201 ? leaseOf(text) : undefined;
    if (granted) {
      this.#lease = granted;
      this.#everRegistered = true;
      this.#failures = 0;
      post({ type: "registered", key: this.#key, lease: granted });
      this.#schedule(this.#heartbeat, this.#heartbeatInterval());
      return;
    }
    const error = failureOf(status, text);
    if (!this.#everRegistered && isFinalRefusal(status)) {
      // Nothing registered and nothing will be: the caller learns why, the lease is dropped.
      this.#closing = true;
      leases.delete(this.#key);
      post({
        type: "refused",
        key: this.#key,
        status,
        code: error.code,
        message: error.message,
        ...(error.problems && { problems: error.problems }),
      });
      return;
    }
    const delay = this.#backoff(registerBackoffMax);
    this.#retryIn(delay, error);
    this.#schedule(this.#register, delay);
  }

  async #heartbeat(): Promise<void> {
    const { status, text } = await this.#send("PUT", `${this.#url}/heartbeat`);
    if (this.#closing) return;
    const renewed = status === 200 ? leaseOf(text) : undefined;
    if (renewed) {
      this.#lease = renewed;
      this.#failures = 0;
      this.#schedule(this.#heartbeat, this.#heartbeatInterval());
      return;
    }
    if (status === 404) {
      // The lease is gone (missed, or the registry restarted without it): register again.
      this.#failures = 0;
      await this.#register();
      return;
    }
    // Unreachable or failing: try again soon, within what is left of the lease.
    const delay = this.#backoff(this.#heartbeatInterval());
    this.#retryIn(delay, failureOf(status, text));
    this.#schedule(this.#heartbeat, delay);
  }

  async close(timeoutMs: number): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#timer);
    this.#inFlight?.abort();
    let deregistered = true;
    // Never registered (the registry was away all along): nothing to take back.
    if (this.#everRegistered || this.#registering) {
      const controller = new AbortController();
      const timeout = setTimeout(() => controller.abort(), timeoutMs);
      try {
        const response = await fetch(this.#url, {
          method: "DELETE",
          headers: this.#headers,
          signal: controller.signal,
        });
        await response.arrayBuffer();
        // 404: the registry had already forgotten it, which is what was asked.
        deregistered =
          response.status === 204 || response.status === 200 || response.status === 404;
      } catch {
        deregistered = false;
      } finally {
        clearTimeout(timeout);
      }
    }
    leases.delete(this.#key);
    post({ type: "closed", key: this.#key, deregistered });
  }
}

const leases = new Map<number, InstanceLease>();

port.on("message", (message: ToLeaseWorker) => {
  if (message.type === "add") {
    const lease = new InstanceLease(message.key, message.lease);
    leases.set(message.key, lease);
    lease.start();
    return;
  }
  const lease = leases.get(message.key);
  if (lease) void lease.close(message.timeoutMs);
  else post({ type: "closed", key: message.key, deregistered: true });
});
