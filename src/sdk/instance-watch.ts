/**
 * @module sdk/instance-watch
 * Follows one service's instances in the registry: `GET /registry/services/{name}?watch=1`,
 * a snapshot and then one event per change (`put`, `down`, `delete`). A stream that breaks
 * or goes quiet past its keepalives is opened again with backoff, and the last known
 * instances stand meanwhile: a registry that restarts does not empty the caller's targets.
 * Nor does its first snapshot: a registry whose revision went back is not the one followed
 * before (a memory store started again, empty), so the instances it does not have yet are
 * kept for one lease of theirs, the time a live one takes to find out and register again.
 * Given several registry URLs (gateway nodes), it follows one, and moves to the next in the
 * list when the stream cannot be opened there, breaks, or is answered 5xx
 * (registry-nodes.ts).
 */
import { Agent, request } from "undici";
import { EventStreamReader, type ServerSentEvent } from "./event-stream.ts";
import {
  type RegistryEndpoint,
  RegistryError,
  registryErrorOf,
  registryHeaders,
  servicePath,
} from "./registry-endpoint.ts";
import { RegistryNodes, triesAnotherNode } from "./registry-nodes.ts";
import { SyncLatch } from "./sync-latch.ts";

/** An instance as the registry lists it. */
export interface RegistryInstance {
  id: string;
  /** Where it is reached, e.g. `http://10.0.0.7:9003`. */
  url: string;
  address: string;
  port: number;
  protocol: "http" | "grpc";
  weight: number;
  version?: string;
  zone?: string;
  tags: string[];
  metadata: Record<string, string>;
  /** `down`: its lease ran out; it takes no traffic until it registers again. */
  state: "up" | "down";
  registeredAt: string;
  lastHeartbeat: string;
  expiresAt: string;
}

/** The registry sends a keepalive every 15 s: this long without a byte means the stream is dead. */
const silenceLimit = 45_000;
const backoffBase = 100;
const backoffMax = 5_000;

/** One service's instances, kept up to date from the registry's event stream. */
export class InstanceWatch {
  readonly #endpoint: RegistryEndpoint;
  readonly #nodes: RegistryNodes;
  readonly #service: string;
  readonly #onChange: (instances: readonly RegistryInstance[]) => void;
  readonly #agent = new Agent({ bodyTimeout: silenceLimit, headersTimeout: 10_000 });
  #instances = new Map<string, RegistryInstance>();
  #revision = -1;
  #failures = 0;
  #closed = false;
  #abort: AbortController | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #synced = new SyncLatch();
  /** Instances kept from before a registry restart until they register again: when each goes. */
  #carried = new Map<string, NodeJS.Timeout>();
  /** Why the last attempt to follow the registry failed, while it is failing. */
  lastError: RegistryError | undefined;

  /** Starts following `service`; `onChange` gets every instance after each change. */
  constructor(
    endpoint: RegistryEndpoint,
    service: string,
    onChange: (instances: readonly RegistryInstance[]) => void,
  ) {
    this.#endpoint = endpoint;
    this.#nodes = new RegistryNodes(endpoint.bases);
    this.#service = service;
    this.#onChange = onChange;
    void this.#follow();
  }

  /** The instances as last heard of. */
  get instances(): RegistryInstance[] {
    return [...this.#instances.values()];
  }

  /** Whether a snapshot has been received (the instances are the registry's, not just empty). */
  get synced(): boolean {
    return this.#synced.isOpen;
  }

  /** Resolves once the first snapshot arrived, or after `timeoutMs` (whichever comes first). */
  whenSynced(timeoutMs: number): Promise<void> {
    return this.#synced.wait(timeoutMs);
  }

  /** Stops following; the stream is closed. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    for (const timer of this.#carried.values()) clearTimeout(timer);
    this.#carried.clear();
    this.#abort?.abort();
    this.#synced.stop();
    await this.#agent.destroy().catch(() => {});
  }

  async #follow(): Promise<void> {
    if (this.#closed) return;
    const abort = new AbortController();
    this.#abort = abort;
    const base = this.#nodes.current;
    try {
      const { statusCode, body } = await request(`${base}${servicePath(this.#service)}?watch=1`, {
        dispatcher: this.#agent,
        headers: { ...registryHeaders(this.#endpoint), accept: "text/event-stream" },
        signal: abort.signal,
      });
      if (statusCode !== 200) {
        const text = await body.text();
        // No such service yet: it has no instances (it may get some; keep asking).
        if (statusCode === 404) this.#settle(new Map());
        throw registryErrorOf(statusCode, text);
      }
      const reader = new EventStreamReader((event) => this.#event(event));
      body.setEncoding("utf8");
      for await (const chunk of body) reader.push(chunk as string);
      throw new RegistryError(0, "REGISTRY_STREAM_ENDED", "the registry ended the watch stream");
    } catch (error) {
      if (this.#closed) return;
      this.lastError =
        error instanceof RegistryError
          ? error
          : new RegistryError(
              0,
              "REGISTRY_UNREACHABLE",
              `registry ${base} unreachable: ${(error as Error).message}`,
            );
      // This node cannot serve the watch now: the next try goes to the next one.
      if (triesAnotherNode(this.lastError.status)) this.#nodes.failed(base);
      const ceiling = Math.min(backoffMax, backoffBase * 2 ** this.#failures++);
      this.#retryTimer = setTimeout(
        () => void this.#follow(),
        Math.max(10, Math.random() * ceiling),
      );
    }
  }

  #event(event: ServerSentEvent): void {
    let data: {
      revision?: number;
      instances?: RegistryInstance[];
      instance?: RegistryInstance;
      id?: string;
    };
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    if (event.event === "snapshot") {
      this.#snapshot(data);
      return;
    }
    // An event the snapshot already includes.
    if (typeof data.revision === "number" && data.revision <= this.#revision) return;
    if (typeof data.revision === "number") this.#revision = data.revision;
    // Whatever the registry now says of a kept instance, it says it for itself.
    const id = data.instance?.id ?? data.id;
    if (id !== undefined) this.#stopCarrying(id);
    switch (event.event) {
      case "put":
        if (data.instance) this.#instances.set(data.instance.id, data.instance);
        break;
      case "down": {
        const instance = data.id === undefined ? undefined : this.#instances.get(data.id);
        if (instance) this.#instances.set(instance.id, { ...instance, state: "down" });
        break;
      }
      case "delete":
        if (data.id !== undefined) this.#instances.delete(data.id);
        break;
      default:
        return;
    }
    this.#onChange(this.instances);
  }

  #snapshot(data: { revision?: number; instances?: RegistryInstance[] }): void {
    const instances = new Map((data.instances ?? []).map((instance) => [instance.id, instance]));
    const restarted =
      this.#synced.isOpen && typeof data.revision === "number" && data.revision < this.#revision;
    for (const [id, known] of this.#instances) {
      if (instances.has(id)) this.#stopCarrying(id);
      else if (this.#carried.has(id)) instances.set(id, known);
      else if (restarted && known.state === "up") {
        instances.set(id, known);
        this.#carry(id, leaseMs(known));
      }
    }
    if (typeof data.revision === "number") this.#revision = data.revision;
    this.#failures = 0;
    this.lastError = undefined;
    this.#settle(instances);
  }

  /** Keeps an instance the registry forgot for `ms`, unless the registry tells of it first. */
  #carry(id: string, ms: number): void {
    const timer = setTimeout(() => {
      this.#carried.delete(id);
      if (this.#instances.delete(id)) this.#onChange(this.instances);
    }, ms);
    timer.unref();
    this.#carried.set(id, timer);
  }

  #stopCarrying(id: string): void {
    clearTimeout(this.#carried.get(id));
    this.#carried.delete(id);
  }

  /** The registry said what the instances are now (a snapshot, or none at all). */
  #settle(instances: Map<string, RegistryInstance>): void {
    this.#instances = instances;
    this.#synced.open();
    this.#onChange(this.instances);
  }
}

/** An instance's lease length, as the registry wrote it (10 s when it cannot be read). */
function leaseMs(instance: RegistryInstance): number {
  const ms = Date.parse(instance.expiresAt) - Date.parse(instance.lastHeartbeat);
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, 300_000) : 10_000;
}
