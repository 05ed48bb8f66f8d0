/**
 * @module sdk/lease-thread
 * The one worker thread (lease-worker.ts) that keeps every registration of the process:
 * started with the first registration, ended with the last. Each registration is a key its
 * messages carry. The thread does not keep the process alive, except while a registration
 * is being closed (the registry must hear of it first). A thread that dies unexpectedly is
 * started again a moment later and handed every registration still open.
 */
import { Worker } from "node:worker_threads";
import type { FromLeaseWorker, LeaseData, ToLeaseWorker } from "./lease-messages.ts";

/** A registration as the thread sees it: what to register, and who hears what happens. */
export interface LeaseOwner {
  readonly data: LeaseData;
  onMessage(message: FromLeaseWorker): void;
}

const entry = new URL(
  `./lease-worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
  import.meta.url,
);

/** A thread that died unexpectedly is started again after this long. */
const restartDelay = 1_000;

let worker: Worker | undefined;
let restartTimer: NodeJS.Timeout | undefined;
let nextKey = 1;
const owners = new Map<number, LeaseOwner>();
/** Registrations being closed, and what to call once they are. */
const closing = new Map<number, () => void>();

/** Hands a registration to the thread; returns its key. */
export function addLease(owner: LeaseOwner): number {
  const key = nextKey++;
  owners.set(key, owner);
  if (worker) send({ type: "add", key, lease: owner.data }, worker);
  else start();
  return key;
}

/**
 * Deregisters `key` (waiting up to `timeoutMs` for the registry) and forgets it; resolves
 * once the thread says so, or at once when the thread is not running (being restarted).
 */
export function closeLease(key: number, timeoutMs: number): Promise<void> {
  if (!owners.has(key) || !worker) {
    drop(key);
    return Promise.resolve();
  }
  const current = worker;
  return new Promise((resolve) => {
    closing.set(key, resolve);
    current.ref();
    send({ type: "close", key, timeoutMs }, current);
  });
}

/** Forgets `key` without deregistering (the registry refused it). */
export function dropLease(key: number): void {
  drop(key);
}

function send(message: ToLeaseWorker, to: Worker): void {
  to.postMessage(message);
}

/** Starts the thread and hands it every registration open. */
function start(): void {
  clearTimeout(restartTimer);
  const started = new Worker(entry);
  worker = started;
  started.unref();
  started.on("message", (message: FromLeaseWorker) => {
    if (message.type === "closed") drop(message.key);
    else owners.get(message.key)?.onMessage(message);
  });
  started.on("error", () => {});
  started.on("exit", () => {
    if (worker !== started) return;
    // Died without being told to: what was closing cannot be confirmed; the rest goes on.
    worker = undefined;
    for (const key of [...closing.keys()]) drop(key);
    if (owners.size === 0) return;
    restartTimer = setTimeout(start, restartDelay);
    restartTimer.unref();
  });
  for (const [key, owner] of owners) send({ type: "add", key, lease: owner.data }, started);
}

function drop(key: number): void {
  owners.delete(key);
  const done = closing.get(key);
  closing.delete(key);
  done?.();
  if (closing.size === 0) worker?.unref();
  if (owners.size === 0 && worker) {
    const last = worker;
    worker = undefined;
    void last.terminate();
  }
}
