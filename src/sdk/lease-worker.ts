/**
 * @module sdk/lease-worker
 * The worker thread that keeps one instance registered: it registers it, renews its lease
 * every third of its TTL, registers it again when the registry forgot it (a heartbeat
 * answered 404: the lease ran out or the registry restarted), retries with backoff while
 * the registry cannot be reached, and deregisters it when told to close. It runs on its own
 * event loop, so a service whose main thread is busy for longer than its TTL keeps its
 * lease (a heartbeat on the main loop would wait behind the work, as Moleculer's did).
 */
import { parentPort, workerData } from "node:worker_threads";
import type { FromLeaseWorker, Lease, LeaseWorkerData, ToLeaseWorker } from "./lease-messages.ts";
import {
  instancePath,
  isFinalRefusal,
  RegistryError,
  registryErrorOf,
  registryHeaders,
} from "./registry-endpoint.ts";

const { endpoint, service, id, instance } = workerData as LeaseWorkerData;
const port = parentPort!;
const url = endpoint.base + instancePath(service, id);
const headers = registryHeaders(endpoint);

/** First retry delay; doubled on each failure in a row, with full jitter. */
const backoffBase = 100;
/** Longest wait between registration tries while the registry is away. */
const registerBackoffMax = 5_000;
/** Longest wait for one registry request before it counts as failed. */
const requestTimeoutMax = 10_000;

let lease: Lease | undefined;
let everRegistered = false;
/** A registration request is on its way: the registry may have the instance without saying so yet. */
let registering = false;
let failures = 0;
let timer: NodeJS.Timeout | undefined;
let closing = false;
/** Aborts the registry request in flight (a close does not wait for it). */
let inFlight: AbortController | undefined;

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

/** One registry request; a network failure or timeout comes back as status 0. */
async function send(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  const controller = new AbortController();
  inFlight = controller;
  const timeout = setTimeout(() => controller.abort(), requestTimeout());
  try {
    const response = await fetch(path, {
      method,
      headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
    });
    return { status: response.status, text: await response.text() };
  } catch (error) {
    return { status: 0, text: (error as Error).message };
  } finally {
    clearTimeout(timeout);
    if (inFlight === controller) inFlight = undefined;
  }
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

function failureOf(status: number, text: string): RegistryError {
  return status === 0
    ? new RegistryError(0, "REGISTRY_UNREACHABLE", `registry unreachable: ${text}`)
    : registryErrorOf(status, text);
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

async function register(): Promise<void> {
  registering = true;
  const { status, text } = await send("PUT", url, instance);
  registering = false;
  if (closing) return;
  const granted = status === 200 || status === 201 ? leaseOf(text) : undefined;
  if (granted) {
    lease = granted;
    everRegistered = true;
    failures = 0;
    post({ type: "registered", lease });
    schedule(heartbeat, heartbeatInterval());
    return;
  }
  const error = failureOf(status, text);
  if (!everRegistered && isFinalRefusal(status)) {
    // Nothing registered and nothing will be: the caller learns why and the worker stops.
    post({
      type: "refused",
      status,
      code: error.code,
      message: error.message,
      ...(error.problems && { problems: error.problems }),
    });
    closing = true;
    port.close();
    return;
  }
  const delay = backoff(registerBackoffMax);
  retryIn(delay, error);
  schedule(register, delay);
}

async function heartbeat(): Promise<void> {
  const { status, text } = await send("PUT", `${url}/heartbeat`);
  if (closing) return;
  const renewed = status === 200 ? leaseOf(text) : undefined;
  if (renewed) {
    lease = renewed;
    failures = 0;
    schedule(heartbeat, heartbeatInterval());
    return;
  }
  if (status === 404) {
    // The lease is gone (missed, or the registry restarted without it): register again.
    failures = 0;
    await register();
    return;
  }
  // Unreachable or failing: try again soon, within what is left of the lease.
  const delay = backoff(heartbeatInterval());
  retryIn(delay, failureOf(status, text));
  schedule(heartbeat, delay);
}

async function close(timeoutMs: number): Promise<void> {
  closing = true;
  clearTimeout(timer);
  inFlight?.abort();
  if (!everRegistered && !registering) {
    // Never registered (the registry was away all along): nothing to take back.
    post({ type: "closed", deregistered: true });
    port.close();
    return;
  }
  const controller = new AbortController();
  const timeout = setTimeout(() => controller.abort(), timeoutMs);
  let deregistered = false;
  try {
    const response = await fetch(url, { method: "DELETE", headers, signal: controller.signal });
    await response.arrayBuffer();
    // 404: the registry had already forgotten it, which is what was asked.
    deregistered = response.status === 204 || response.status === 200 || response.status === 404;
  } catch {
    deregistered = false;
  } finally {
    clearTimeout(timeout);
  }
  post({ type: "closed", deregistered });
  port.close();
}

port.on("message", (message: ToLeaseWorker) => {
  if (message.type === "close") void close(message.timeoutMs);
});

void register();
