/**
 * @module runtime/validation-thread
 * A worker thread that reads, parses and validates config files (runtime/validation-worker),
 * so that a reload holds the serving thread only for what must happen there: taking the
 * checked config in, compiling it and swapping it. One thread, started on demand and kept
 * for the process; it never keeps the process alive (unref'd, except while it owes an
 * answer), and one that ends (a crash, a plugin module that threw) is started again on the
 * next request.
 */
import { Worker } from "node:worker_threads";
import { adoptCheckedConfig } from "../config/checked-config.ts";
import { type AuditedResource, rememberResourceChanges } from "../config/diff-ahead.ts";
import { type ConfigDocument, configOriginOf } from "../config/document.ts";
import { ConfigError, type OverlayOption } from "../config/load.ts";
import type { GatehouseConfig } from "../config/schema/index.ts";
import { rememberConfigHash } from "../observability/config-revision.ts";
import { decodeChecked, type ValidationAnswer, type ValidationRequest } from "./validation-wire.ts";

const entry = new URL(
  `./validation-worker${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
  import.meta.url,
);

/** The thread ended before it answered: the request was not validated (do it elsewhere). */
export class ValidationThreadEnded extends Error {
  constructor(reason: string) {
    super(`the config validation thread ended: ${reason}`);
    this.name = "ValidationThreadEnded";
  }
}

/** A config the thread validated, taken into this thread. */
export interface ThreadValidated {
  config: GatehouseConfig;
  /** The plugins the thread validated against, by name. */
  plugins: string[];
}

interface Pending {
  resolve(answer: ThreadValidated): void;
  reject(error: Error): void;
}

/** The validation thread, as the main thread sees it. */
export class ValidationThread {
  #worker: Worker | undefined;
  #ready = false;
  #readyWaiters: (() => void)[] = [];
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed = false;
  /** How many times a thread was started (1 after the first start, more after restarts). */
  starts = 0;
  /** Requests the threads answered (valid or refused): reloads validated off this thread. */
  answered = 0;
  /** The last valid answer's document, and the thread that holds it too. */
  #lastDocument: { id: number; document: ConfigDocument; worker: Worker } | undefined;
  /** Requests for changes between two answers' documents, by id. */
  readonly #changesAsked = new Map<number, (resources: AuditedResource[] | undefined) => void>();

  /** Whether the thread owes an answer now. */
  get busy(): boolean {
    return this.#pending.size > 0;
  }

  /** Whether a thread has loaded and takes requests now. */
  get ready(): boolean {
    return this.#ready;
  }

  /** Starts the thread unless one is running or starting; it loads in the background. */
  start(): void {
    if (this.#worker || this.#closed) return;
    this.starts++;
    const worker = new Worker(entry, { name: "gatehouse config validation" });
    worker.unref();
    this.#worker = worker;
    worker.on("message", (answer: ValidationAnswer) => this.#answered(answer));
    // An uncaught error ends the thread: `exit` follows and fails what it owed.
    worker.on("error", () => {});
    worker.on("exit", (code) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      this.#ready = false;
      // One that ended before it was ready (it failed to load) is waited for no longer.
      for (const resolve of this.#readyWaiters.splice(0)) resolve();
      const ended = new ValidationThreadEnded(`exit code ${code}`);
      for (const pending of this.#pending.values()) pending.reject(ended);
      this.#pending.clear();
      for (const resolve of this.#changesAsked.values()) resolve(undefined);
      this.#changesAsked.clear();
    });
  }

  /**
   * Resolves once a thread is ready (starting one if needed), or once one that was starting
   * ended instead: then `ready` is still false.
   */
  whenReady(): Promise<void> {
    this.start();
    if (this.#ready) return Promise.resolve();
    return new Promise((resolve) => this.#readyWaiters.push(resolve));
  }

  /**
   * Validates `file` (merged with `overlay`) in the thread, with this process's environment
   * as it is now. Rejects with the ConfigError of a refused file (its problems located as
   * a load here would locate them), with ValidationThreadEnded when the thread ended first.
   */
  validate(file: string, overlay: OverlayOption | undefined): Promise<ThreadValidated> {
    this.start();
    const worker = this.#worker;
    if (!worker) return Promise.reject(new ValidationThreadEnded("closed"));
    const id = this.#nextId++;
    const request: ValidationRequest = { id, file, overlay, env: { ...process.env } };
    return new Promise<ThreadValidated>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      // Owing an answer, the thread keeps the process alive until it gives it.
      worker.ref();
      worker.postMessage(request);
    });
  }

  /** The changes from answer `from`'s document to answer `to`'s; undefined if the thread cannot say. */
  #changes(from: number, to: number): Promise<AuditedResource[] | undefined> {
    const worker = this.#worker;
    if (!worker || worker !== this.#lastDocument?.worker) return Promise.resolve(undefined);
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#changesAsked.set(id, resolve);
      worker.ref();
      worker.postMessage({ id, changesFrom: from, changesTo: to } satisfies ValidationRequest);
    });
  }

  /** Lets the process exit once the thread owes nothing. */
  #settled(): void {
    if (this.#pending.size === 0 && this.#changesAsked.size === 0) this.#worker?.unref();
  }

  /** Ends the thread; a request it owed rejects with ValidationThreadEnded. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#worker?.terminate();
  }

  /** Ends the thread as a crash would; the next request starts another one. */
  async terminate(): Promise<void> {
    await this.#worker?.terminate();
  }

  #answered(answer: ValidationAnswer): void {
    if ("ready" in answer) {
      this.#ready = true;
      for (const resolve of this.#readyWaiters.splice(0)) resolve();
      return;
    }
    if ("resources" in answer) {
      const resolve = this.#changesAsked.get(answer.id);
      this.#changesAsked.delete(answer.id);
      this.#settled();
      resolve?.(answer.resources ?? undefined);
      return;
    }
    const pending = this.#pending.get(answer.id);
    if (!pending) return;
    this.#pending.delete(answer.id);
    this.answered++;
    this.#settled();
    if ("problems" in answer) pending.reject(new ConfigError(answer.problems));
    else if ("failure" in answer) pending.reject(new Error(answer.failure));
    else {
      const config = adoptCheckedConfig(decodeChecked(answer.checked));
      rememberConfigHash(config, answer.hash);
      // The audit's changes from the last answer's document to this one's are the thread's
      // to work out (config/diff-ahead), when asked, after the swap.
      const document = configOriginOf(config)?.document;
      const last = this.#lastDocument;
      if (document && last && this.#worker === last.worker) {
        const [from, to] = [last.id, answer.id];
        rememberResourceChanges(last.document, document, () => this.#changes(from, to));
      }
      this.#lastDocument = document &&
        this.#worker && { id: answer.id, document, worker: this.#worker };
      pending.resolve({ config, plugins: answer.plugins });
    }
  }
}
