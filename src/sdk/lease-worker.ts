/**
 * @module sdk/lease-worker
 * The worker thread that keeps a process's instances registered, one InstanceLease each: it
 * registers an instance, renews its lease every third of its TTL, registers it again when
 * the registry forgot it (the lease ran out or the registry restarted), retries with backoff
 * while the registry cannot be reached, and deregisters it when told to close. It runs on
 * its own event loop, so a service whose main thread is busy for longer than its TTL keeps
 * its lease (a heartbeat on the main loop would wait behind the work, as Moleculer's did).
 * One thread serves every registration of the process: a hundred instances cost a hundred
 * timers, not a hundred threads. Where each instance is registered is a LeaseBackend: the
 * registry API, or etcd (loaded with the first registration that goes there).
 */
import { parentPort } from "node:worker_threads";
import { ApiLeases } from "./api-leases.ts";
import type { LeaseAnswer, LeaseBackend } from "./lease-backend.ts";
import type { FromLeaseWorker, Lease, LeaseData, ToLeaseWorker } from "./lease-messages.ts";
import { RegistryError } from "./registry-endpoint.ts";

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

/** etcd's backend, imported once, when a registration first goes straight to etcd. */
let etcdLeases: Promise<typeof import("./etcd-leases.ts")> | undefined;

/**
 * Where `data` is registered. Rejects with a RegistryError when etcd's client cannot be set
 * up (a TLS file that cannot be read, say): trying again would not help.
 */
async function backendFor(data: LeaseData, requestTimeout: () => number): Promise<LeaseBackend> {
  if (data.via === "api") return new ApiLeases(data, requestTimeout);
  etcdLeases ??= import("./etcd-leases.ts");
  try {
    const { EtcdLeases } = await etcdLeases;
    return new EtcdLeases(data.etcd, data.registration);
  } catch (error) {
    const at = data.etcd.connection.endpoints.join(", ");
    const message = `cannot set up the etcd client for ${at} (${(error as Error).message})`;
    throw new RegistryError(503, "GATEHOUSE_REGISTRY_STORE_UNAVAILABLE", message);
  }
}

/** Waits for `work`, at most `ms`. */
async function within(work: Promise<unknown>, ms: number): Promise<void> {
  let timeout: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise((resolve) => (timeout = setTimeout(resolve, ms)))]);
  clearTimeout(timeout);
}

/** One instance kept registered. */
class InstanceLease {
  readonly #key: number;
  readonly #backend: Promise<LeaseBackend>;
  #lease: Lease | undefined;
  #everRegistered = false;
  /** A registration on its way: the registry may have the instance without saying so yet. */
  #registering: Promise<void> | undefined;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #closing = false;

  constructor(key: number, data: LeaseData) {
    this.#key = key;
    this.#backend = backendFor(data, () => this.#requestTimeout());
    // A backend that could not be set up is reported by the registration it fails.
    this.#backend.catch(() => {});
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

  #requestTimeout(): number {
    return Math.min(requestTimeoutMax, Math.max(1_000, this.#heartbeatInterval()));
  }

  #schedule(step: () => Promise<void>, delay: number): void {
    if (this.#closing) return;
    this.#timer = setTimeout(() => void step.call(this), delay);
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

  #leased(lease: Lease): void {
    this.#lease = lease;
    this.#failures = 0;
    this.#schedule(this.#heartbeat, this.#heartbeatInterval());
  }

  #register(): Promise<void> {
    const registering = this.#registerOnce().finally(() => {
      if (this.#registering === registering) this.#registering = undefined;
    });
    this.#registering = registering;
    return registering;
  }

  async #registerOnce(): Promise<void> {
    const answer: LeaseAnswer = await this.#backend.then(
      (backend) => backend.register(),
      (error: RegistryError) => ({ kind: "failed", error, final: true }),
    );
    if (this.#closing) return;
    if (answer.kind === "lease") {
      this.#everRegistered = true;
      post({ type: "registered", key: this.#key, lease: answer.lease });
      this.#leased(answer.lease);
      return;
    }
    if (answer.kind === "failed" && answer.final && !this.#everRegistered) {
      // Nothing registered and nothing will be: the caller learns why, the lease is dropped.
      const { error } = answer;
      this.#closing = true;
      leases.delete(this.#key);
      void this.#backend.then(
        (backend) => backend.close(),
        () => {},
      );
      post({
        type: "refused",
        key: this.#key,
        status: error.status,
        code: error.code,
        message: error.message,
        ...(error.problems && { problems: error.problems }),
      });
      return;
    }
    const delay = this.#backoff(registerBackoffMax);
    if (answer.kind === "failed") this.#retryIn(delay, answer.error);
    this.#schedule(this.#register, delay);
  }

  async #heartbeat(): Promise<void> {
    const answer = await (await this.#backend).heartbeat();
    if (this.#closing) return;
    if (answer.kind === "lease") {
      this.#leased(answer.lease);
      return;
    }
    if (answer.kind === "gone") {
      // The lease is gone (missed, or the registry restarted without it): register again.
      this.#failures = 0;
      await this.#register();
      return;
    }
    // Unreachable or failing: try again soon, within what is left of the lease.
    const delay = this.#backoff(this.#heartbeatInterval());
    this.#retryIn(delay, answer.error);
    this.#schedule(this.#heartbeat, delay);
  }

  async close(timeoutMs: number): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#timer);
    // Taken before anything is awaited: a registration landing meanwhile must be taken back.
    const inFlight = this.#registering;
    const started = Date.now();
    const backend = await this.#backend.catch(() => undefined);
    backend?.abort();
    // Never registered (the registry was away all along, or etcd's client never set up):
    // nothing to take back.
    if (!backend || (!this.#everRegistered && !inFlight)) {
      this.#finish(backend, true);
      return;
    }
    // A registration still on its way lands first: the deregistration must come after it.
    if (inFlight) await within(inFlight, timeoutMs);
    const left = Math.max(1, timeoutMs - (Date.now() - started));
    this.#finish(backend, await backend.deregister(left));
  }

  #finish(backend: LeaseBackend | undefined, deregistered: boolean): void {
    backend?.close();
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
