/**
 * @module server/worker-pool
 * The supervisor's worker threads (`gateway.workers` > 1). Each runs the proxy listeners
 * on the same ports (SO_REUSEPORT: the kernel spreads new connections over them) and
 * compiles every config it is sent; the supervisor validates once, probes targets once,
 * counts rate limits once, relays target state between workers, restarts a worker that
 * died, and drains them all on stop. Why threads and not node:cluster: docs/architecture.md.
 */
import type { AddressInfo } from "node:net";
import { MessageChannel, type MessagePort, Worker } from "node:worker_threads";
import type { GatehouseConfig } from "../config/schema.ts";
import { processSecrets } from "../config/secret-values.ts";
import type { ConfigRevision } from "../observability/config-revision.ts";
import type { Logger } from "../observability/logger.ts";
import type { TargetStateChange } from "../runtime/target-sync.ts";
import type { NodeLimitService } from "../stores/node-limits.ts";
import type { FromWorker, ToWorker, WorkerStart, WorkerStats } from "./worker-messages.ts";

export interface WorkerPoolOptions {
  count: number;
  config: GatehouseConfig;
  revision: ConfigRevision;
  /** The port of each proxy listener, already chosen (and held) by the supervisor. */
  ports: number[];
  /** `gateway.pluginModules`, and the file they are relative to. */
  pluginModules: string[];
  configFile: string;
  /** The supervisor's view of every target, for a worker that starts or reloads. */
  states(): TargetStateChange[];
  /** A worker's breaker or outlier detection changed a target (already relayed to the others). */
  onState(change: TargetStateChange): void;
  limits: NodeLimitService;
  log: Logger;
}

/** One worker thread, and what the supervisor waits for from it. */
interface Slot {
  index: number;
  worker: Worker;
  /** The supervisor's end of the worker's rate-limit channel. */
  limits: MessagePort;
  startedAt: number;
  addresses: AddressInfo[];
  /** Answers awaited, by sequence number. */
  waiting: Map<number, (message: FromWorker | undefined) => void>;
}

/** A worker that dies this soon after starting is crash-looping: wait before the next try. */
const crashLoopMs = 10_000;
const maxRestartDelayMs = 5_000;
const entry = new URL(
  `./worker-thread${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`,
  import.meta.url,
);

export class WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #slots = new Map<number, Slot>();
  #config: GatehouseConfig;
  #revision: ConfigRevision;
  #seq = 0;
  #stopping = false;
  #restartDelay = 0;
  /** Restarts of each worker slot, for `/status`. */
  readonly #restarts = new Map<number, number>();

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#config = options.config;
    this.#revision = options.revision;
  }

  /** Starts every worker; resolves once all of them listen. One that cannot start stops them all. */
  async start(): Promise<void> {
    const started = [];
    for (let index = 1; index <= this.#options.count; index++) started.push(this.#spawn(index));
    try {
      await Promise.all(started);
    } catch (error) {
      this.#stopping = true;
      await Promise.all([...this.#slots.values()].map((slot) => slot.worker.terminate()));
      this.#slots.clear();
      throw error;
    }
  }

  /** The proxy listeners' addresses (every worker binds the same ones). */
  addresses(): AddressInfo[] {
    for (const slot of this.#slots.values()) if (slot.addresses.length > 0) return slot.addresses;
    return [];
  }

  get size(): number {
    return this.#slots.size;
  }

  /** Serves `config` in every worker; resolves once each has compiled and swapped it. */
  async reload(config: GatehouseConfig, revision: ConfigRevision): Promise<void> {
    this.#config = config;
    this.#revision = revision;
    const states = this.#options.states();
    const secrets = processSecrets.values();
    const answers = [...this.#slots.values()].map((slot) =>
      this.#ask(slot, (seq) => ({ type: "reload", seq, config, revision, secrets, states })),
    );
    for (const answer of await Promise.all(answers)) {
      if (answer?.type === "reloaded" && answer.error) throw new Error(answer.error);
    }
  }

  /** Tells every worker but `except` of a target's new state. */
  broadcast(change: TargetStateChange, except?: Slot): void {
    for (const slot of this.#slots.values()) {
      if (slot !== except) slot.worker.postMessage({ type: "state", change } satisfies ToWorker);
    }
  }

  /** Each worker's metrics (prom-client JSON), for the supervisor's `/metrics`. */
  async metrics(): Promise<object[][]> {
    const answers = await Promise.all(
      [...this.#slots.values()].map((slot) => this.#ask(slot, (seq) => ({ type: "metrics", seq }))),
    );
    return answers.flatMap((answer) => (answer?.type === "metrics" ? [answer.metrics] : []));
  }

  /** What each running worker counts, in worker order. */
  async stats(): Promise<WorkerStats[]> {
    const slots = [...this.#slots.values()].sort((a, b) => a.index - b.index);
    const answers = await Promise.all(
      slots.map((slot) => this.#ask(slot, (seq) => ({ type: "stats", seq }))),
    );
    return answers.flatMap((answer, i) =>
      answer?.type === "stats"
        ? [{ ...answer.stats, restarts: this.#restarts.get(slots[i]!.index) ?? 0 }]
        : [],
    );
  }

  /** Drains every worker (each within `gateway.shutdownTimeout`), then ends them. */
  async stop(): Promise<void> {
    this.#stopping = true;
    const slots = [...this.#slots.values()];
    await Promise.all(
      slots.map(async (slot) => {
        const exited = new Promise((done) => slot.worker.once("exit", done));
        slot.worker.postMessage({ type: "stop" } satisfies ToWorker);
        const grace = this.#config.gateway.shutdownTimeout + 2_000;
        const timer = setTimeout(() => void slot.worker.terminate(), grace);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.#slots.clear();
  }

  #spawn(index: number): Promise<void> {
    const { port1, port2 } = new MessageChannel();
    this.#options.limits.serve(port1);
    const data: WorkerStart = {
      index,
      config: this.#config,
      revision: this.#revision,
      ports: this.#options.ports,
      secrets: processSecrets.values(),
      pluginModules: this.#options.pluginModules,
      configFile: this.#options.configFile,
      states: this.#options.states(),
      limits: port2,
    };
    const worker = new Worker(entry, { workerData: data, transferList: [port2] });
    const slot: Slot = {
      index,
      worker,
      limits: port1,
      startedAt: Date.now(),
      addresses: [],
      waiting: new Map(),
    };
    this.#slots.set(index, slot);
    const ready = new Promise<void>((resolve, reject) => {
      worker.on("message", (message: FromWorker) => {
        if (message.type === "ready") {
          slot.addresses = message.addresses;
          resolve();
        } else if (message.type === "state") {
          this.broadcast(message.change, slot);
          this.#options.onState(message.change);
        } else if ("seq" in message) {
          slot.waiting.get(message.seq)?.(message);
          slot.waiting.delete(message.seq);
        }
      });
      worker.on("error", (error) => {
        this.#options.log.error({ worker: index, err: error }, "worker thread failed");
        reject(error);
      });
    });
    worker.on("exit", (code) => this.#exited(slot, code));
    return ready;
  }

  /** A worker ended: unless the pool is stopping, it is started again with the current config. */
  #exited(slot: Slot, code: number): void {
    for (const answer of slot.waiting.values()) answer(undefined);
    slot.waiting.clear();
    slot.limits.close();
    if (this.#slots.get(slot.index) !== slot) return;
    this.#slots.delete(slot.index);
    if (this.#stopping) return;
    const lived = Date.now() - slot.startedAt;
    this.#restartDelay =
      lived < crashLoopMs ? Math.min(Math.max(this.#restartDelay * 2, 100), maxRestartDelayMs) : 0;
    this.#options.log.error(
      { worker: slot.index, exitCode: code, restartInMs: this.#restartDelay },
      `worker ${slot.index} exited; starting it again`,
    );
    this.#restarts.set(slot.index, (this.#restarts.get(slot.index) ?? 0) + 1);
    const restart = setTimeout(() => {
      if (this.#stopping) return;
      this.#spawn(slot.index).then(
        () => this.#options.log.info({ worker: slot.index }, `worker ${slot.index} restarted`),
        () => {},
      );
    }, this.#restartDelay);
    restart.unref();
  }

  #ask(slot: Slot, message: (seq: number) => ToWorker): Promise<FromWorker | undefined> {
    const seq = ++this.#seq;
    return new Promise((resolve) => {
      slot.waiting.set(seq, resolve);
      slot.worker.postMessage(message(seq));
    });
  }
}
