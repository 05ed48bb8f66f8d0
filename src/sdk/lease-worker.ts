/**
 * @module sdk/lease-worker
 * The worker thread that keeps one instance registered: it registers it, renews its lease
 * every third of its TTL, registers it again when the registry forgot it (the lease ran out
 * or the registry restarted), retries with backoff while the registry cannot be reached,
 * and deregisters it when told to close. It runs on its own event loop, so a service whose
 * main thread is busy for longer than its TTL keeps its lease (a heartbeat on the main loop
 * would wait behind the work, as Moleculer's did). Where the instance is registered is a
 * LeaseBackend: the registry API, or etcd (loaded only then).
 */
import { parentPort, workerData } from "node:worker_threads";
import { ApiLeases } from "./api-leases.ts";
import type { LeaseAnswer, LeaseBackend } from "./lease-backend.ts";
import type { FromLeaseWorker, Lease, LeaseWorkerData, ToLeaseWorker } from "./lease-messages.ts";
import type { RegistryError } from "./registry-endpoint.ts";

const data = workerData as LeaseWorkerData;
const port = parentPort!;

/** First retry delay; doubled on each failure in a row, with full jitter. */
const backoffBase = 100;
/** Longest wait between registration tries while the registry is away. */
const registerBackoffMax = 5_000;
/** Longest wait for one registry request before it counts as failed. */
const requestTimeoutMax = 10_000;

let lease: Lease | undefined;
let everRegistered = false;
/** A registration request on its way: the registry may have the instance without saying so yet. */
let registering: Promise<void> | undefined;
let failures = 0;
let timer: NodeJS.Timeout | undefined;
let closing = false;

const backend: LeaseBackend =
  data.via === "etcd"
    ? new (await import("./etcd-leases.ts")).EtcdLeases(data.etcd, data.registration)
    : new ApiLeases(data, requestTimeout);

function post(message: FromLeaseWorker): void {
  port.postMessage(message);
}

/** Full jitter over an exponential ceiling (the same shape as the gateway's retry backoff). */
function backoff(ceilingMax: number): number {
  const ceiling = Math.min(ceilingMax, backoffBase * 2 ** failures);
  failures++;
  return Math.max(10, Math.floor(Math.random() * ceiling));
}

/** A third of the TTL: two heartbeats may be lost before the lease runs out. */
function heartbeatInterval(): number {
  return Math.max(10, Math.floor((lease?.ttlMs ?? 10_000) / 3));
}

function requestTimeout(): number {
  return Math.min(requestTimeoutMax, Math.max(1_000, heartbeatInterval()));
}

function schedule(step: () => Promise<void>, delay: number): void {
  if (closing) return;
  timer = setTimeout(() => void step(), delay);
}

function retryIn(delayMs: number, error: RegistryError): void {
  post({
    type: "retry",
    status: error.status,
    code: error.code,
    message: error.message,
    delayMs,
  });
}

function leased(answer: LeaseAnswer & { kind: "lease" }): void {
  lease = answer.lease;
  failures = 0;
  schedule(heartbeat, heartbeatInterval());
}

function register(): Promise<void> {
  registering = registerOnce().finally(() => {
    registering = undefined;
  });
  return registering;
}

async function registerOnce(): Promise<void> {
  const answer = await backend.register();
  if (closing) return;
  if (answer.kind === "lease") {
    everRegistered = true;
    post({ type: "registered", lease: answer.lease });
    leased(answer);
    return;
  }
  if (answer.kind === "failed" && answer.final && !everRegistered) {
    // Nothing registered and nothing will be: the caller learns why and the worker stops.
    const { error } = answer;
    post({
      type: "refused",
      status: error.status,
      code: error.code,
      message: error.message,
      ...(error.problems && { problems: error.problems }),
    });
    closing = true;
    backend.close();
    port.close();
    return;
  }
  const delay = backoff(registerBackoffMax);
  if (answer.kind === "failed") retryIn(delay, answer.error);
  schedule(register, delay);
}

async function heartbeat(): Promise<void> {
  const answer = await backend.heartbeat();
  if (closing) return;
  if (answer.kind === "lease") {
    leased(answer);
    return;
  }
  if (answer.kind === "gone") {
    // The lease is gone (missed, or the registry restarted without it): register again.
    failures = 0;
    await register();
    return;
  }
  // Unreachable or failing: try again soon, within what is left of the lease.
  const delay = backoff(heartbeatInterval());
  retryIn(delay, answer.error);
  schedule(heartbeat, delay);
}

async function close(timeoutMs: number): Promise<void> {
  closing = true;
  clearTimeout(timer);
  backend.abort();
  const inFlight = registering;
  // Never registered (the registry was away all along): nothing to take back.
  if (!everRegistered && !inFlight) {
    finish(true);
    return;
  }
  // A registration still on its way lands first: the deregistration must come after it.
  const started = Date.now();
  if (inFlight) await within(inFlight, timeoutMs);
  finish(await backend.deregister(Math.max(1, timeoutMs - (Date.now() - started))));
}

/** Waits for `work`, at most `ms`. */
async function within(work: Promise<unknown>, ms: number): Promise<void> {
  let timeout: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise((resolve) => (timeout = setTimeout(resolve, ms)))]);
  clearTimeout(timeout);
}

function finish(deregistered: boolean): void {
  backend.close();
  post({ type: "closed", deregistered });
  port.close();
}

port.on("message", (message: ToLeaseWorker) => {
  if (message.type === "close") void close(message.timeoutMs);
});

void register();
