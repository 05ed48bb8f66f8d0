/**
 * @module sdk/register
 * `register()`: a service instance announces itself to the registry and stays announced
 * until it closes, through a gateway's registry API or straight in the etcd of the
 * gateways' etcd registry store. The registry I/O (registration, heartbeats, retries,
 * deregistration) runs in the process's lease thread (lease-thread.ts, one worker for every
 * registration), so a busy main thread never costs the lease; this side holds the options,
 * relays what the thread reports, and on SIGTERM or SIGINT deregisters every registration,
 * waits for the requests being handled, and lets the process end.
 */
import { EventEmitter } from "node:events";
import { registrySchema } from "../config/schema/registry.ts";
import { parseDuration } from "../config/units.ts";
import { isGatehouseError } from "../errors.ts";
import { type Registration as CheckedInstance, parseRegistration } from "../registry/instance.ts";
import { handlersIdle } from "./call-context.ts";
import { type EtcdOptions, etcdSettings } from "./etcd-options.ts";
import { defaultAddress, defaultInstanceId } from "./instance-address.ts";
import type { FromLeaseWorker, InstanceBody, Lease, LeaseData } from "./lease-messages.ts";
import { addLease, closeLease, dropLease, type LeaseOwner } from "./lease-thread.ts";
import { RegistryError, registryEndpoint } from "./registry-endpoint.ts";
import { onShutdownSignal } from "./shutdown-signals.ts";
import { setDefaultServiceName } from "./telemetry.ts";

export type { Lease } from "./lease-messages.ts";

/** What `register()` is told about the instance and the registry. */
export interface RegisterOptions {
  /** The service this instance belongs to, e.g. `orders`. */
  name: string;
  /** The port the instance listens on. */
  port: number;
  /**
   * The registry API's base URL, e.g. `http://10.0.0.2:9903`; default `GATEHOUSE_REGISTRY`
   * (unless `etcd` is given).
   */
  registry?: string | URL;
  /** A registry (or admin) key, sent as a bearer token; default `GATEHOUSE_REGISTRY_KEY`. */
  key?: string;
  /**
   * Register straight in etcd instead of through a gateway's registry API: the etcd of the
   * gateways' `gateway.registry.store: etcd`, with the same `prefix`. The instance is checked
   * as the registry API checks one, with its default `ttl` (10s) and longest (5m); there are
   * no keys or allowed networks: whoever may write to etcd may register.
   */
  etcd?: EtcdOptions;
  /** The instance's id within the service; default `ADDRESS-PORT`. */
  id?: string;
  /**
   * The address others reach the instance at (IP or host name). Default: 127.0.0.1 when the
   * registry's URL (or etcd's first endpoint) is on this host, else this host's first
   * non-internal IPv4 address.
   */
  address?: string;
  /** The lease's time to live (`"10s"`, or milliseconds); default the registry's `defaultTtl`. */
  ttl?: string | number;
  /** How the instance is spoken to; default `http`. */
  protocol?: "http" | "grpc";
  version?: string;
  zone?: string;
  tags?: string[];
  metadata?: Record<string, string>;
  /** Relative share of traffic (a whole number ≥ 1); default 1. */
  weight?: number;
  /** An active health check the gateway runs against the instance, on top of the lease. */
  healthCheck?: { path: string; interval?: string };
  /** Deregister on SIGTERM and SIGINT, then let the process end; default true. */
  handleSignals?: boolean;
  /**
   * Resolve `register()` once the registry has taken the instance (default true). With false
   * it resolves at once and registers in the background; `registration.ready` tells when.
   */
  wait?: boolean;
  /** How long closing waits for requests being handled (see `traceHandler`); default `10s`. */
  drainTimeout?: string | number;
  /** How long closing waits for the registry to confirm the deregistration; default `5s`. */
  deregisterTimeout?: string | number;
}

/** Where a registration stands. */
export type RegistrationState = "registering" | "registered" | "closing" | "closed";

/** Open registrations that close on SIGTERM and SIGINT, each with what takes it back. */
const closeOnSignal = new Map<Registration, () => void>();

/**
 * Adds a registration to (or takes it from) those closed on SIGTERM and SIGINT: deregistered
 * and drained before the SDK's stores close, then the signal ends the process unless another
 * listener (the application's own) took charge of it (shutdown-signals.ts).
 */
function closeOnSignals(registration: Registration, on: boolean): void {
  if (on && !closeOnSignal.has(registration)) {
    closeOnSignal.set(
      registration,
      onShutdownSignal("drain", () => registration.close()),
    );
  } else if (!on) {
    closeOnSignal.get(registration)?.();
    closeOnSignal.delete(registration);
  }
}

/**
 * A registered instance. It keeps itself registered (heartbeats, registering again after a
 * lost lease or a registry restart) until `close()`.
 *
 * Events: `registered` (`lease`) each time the registry takes the instance, the first time
 * and again after its lease was lost; `retry` (`{ status, code, message, delayMs }`) when a
 * registration or heartbeat failed and will be tried again.
 */
export class Registration extends EventEmitter {
  /** The service name. */
  readonly service: string;
  /** The instance id. */
  readonly id: string;
  /** What was registered: address, port, protocol and the rest. */
  readonly instance: Readonly<InstanceBody>;
  /**
   * Resolves with the first lease; rejects with a `RegistryError` if the registry refuses the
   * instance (bad fields, no or wrong key, an address outside its networks), or if the
   * registration is closed first.
   */
  readonly ready: Promise<Lease>;
  #lease: Lease | undefined;
  #state: RegistrationState = "registering";
  /** The registration's key in the lease thread, while it has one. */
  #key: number | undefined;
  #closing: Promise<void> | undefined;
  #settleReady!: { resolve: (lease: Lease) => void; reject: (error: Error) => void };
  readonly #drainTimeout: number;
  readonly #deregisterTimeout: number;
  readonly #handleSignals: boolean;
  /** What the lease thread keeps registered, and where it reports. */
  readonly #owner: LeaseOwner;

  /** Use `register()`, which validates the options and starts it. */
  constructor(options: RegisterOptions) {
    super();
    const caller = `register(${JSON.stringify(options?.name)})`;
    checkOptions(options, caller);
    if (options.etcd !== undefined && options.registry !== undefined) {
      throw new TypeError(`${caller}: give registry or etcd, not both`);
    }
    const etcd = options.etcd === undefined ? undefined : etcdSettings(options.etcd, caller);
    const endpoint = etcd ? undefined : registryEndpoint(options.registry, options.key, caller);
    const address =
      options.address ?? defaultAddress(endpoint?.base ?? etcd!.connection.endpoints[0]!);
    this.service = options.name;
    this.id = options.id ?? defaultInstanceId(address, options.port);
    this.instance = Object.freeze(instanceBody(options, address, caller));
    const data: LeaseData = endpoint
      ? { via: "api", endpoint, service: this.service, id: this.id, instance: this.instance }
      : { via: "etcd", etcd: etcd!, registration: checked(this.service, this.id, this.instance) };
    this.#owner = { data, onMessage: (message) => this.#onMessage(message) };
    this.#drainTimeout = durationOption(options.drainTimeout, 10_000, "drainTimeout", caller);
    this.#deregisterTimeout = durationOption(
      options.deregisterTimeout,
      5_000,
      "deregisterTimeout",
      caller,
    );
    this.#handleSignals = options.handleSignals !== false;
    this.ready = new Promise<Lease>((resolve, reject) => {
      this.#settleReady = { resolve, reject };
    });
    // Whoever does not wait for `ready` must not get an unhandled rejection from it.
    this.ready.catch(() => {});
    setDefaultServiceName(this.service);
  }

  /** The lease last granted; undefined until the first registration. */
  get lease(): Lease | undefined {
    return this.#lease;
  }

  /** Where the registration stands: registering (until the first lease), registered, closing, closed. */
  get state(): RegistrationState {
    return this.#state;
  }

  /** Hands the registration to the lease thread and, unless told not to, to the signal listener. */
  start(): this {
    if (this.#handleSignals) closeOnSignals(this, true);
    this.#key = addLease(this.#owner);
    return this;
  }

  /**
   * Deregisters the instance (it gets no new requests), waits for the requests being handled
   * by `traceHandler` handlers (up to `drainTimeout`), then resolves. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = "closing";
    closeOnSignals(this, false);
    this.#settleReady.reject(new Error(`${this.service}/${this.id}: closed before registered`));
    const key = this.#key;
    this.#key = undefined;
    if (key !== undefined) await closeLease(key, this.#deregisterTimeout);
    await handlersIdle(this.#drainTimeout);
    this.#state = "closed";
  }

  #onMessage(message: FromLeaseWorker): void {
    switch (message.type) {
      case "registered":
        this.#lease = message.lease;
        if (this.#state === "registering") this.#state = "registered";
        this.#settleReady.resolve(message.lease);
        this.emit("registered", message.lease);
        return;
      case "retry": {
        const { type: _, key: __, ...retry } = message;
        this.emit("retry", retry);
        return;
      }
      case "refused":
        closeOnSignals(this, false);
        this.#state = "closed";
        if (this.#key !== undefined) dropLease(this.#key);
        this.#key = undefined;
        this.#settleReady.reject(
          new RegistryError(message.status, message.code, message.message, message.problems),
        );
        return;
      case "closed":
        return;
    }
  }
}

/**
 * Registers this instance of a service with the registry and keeps it registered: heartbeats
 * at a third of the lease's TTL from a worker thread (one for all the process's
 * registrations), registering again whenever the lease was lost, retrying with backoff while
 * the registry cannot be reached. On SIGTERM or SIGINT (unless `handleSignals: false`) it
 * deregisters and lets the process end.
 *
 * Resolves once the registry has taken the instance; rejects with a `RegistryError` when the
 * registry refuses it for good (a 4xx other than 404, 408 or 429). With `etcd` the
 * instance is written straight to etcd as the gateway's etcd registry store writes one (a
 * key on an etcd lease of its own; heartbeats are keep-alives of that lease), and every
 * gateway node and client on that etcd and prefix sees it.
 *
 * @example
 * ```ts
 * import { register } from "gatehouse-gateway/sdk";
 * const registration = await register({ name: "orders", port: 9003, registry: "http://127.0.0.1:9903" });
 * // ... serve ...
 * await registration.close(); // deregister; requests being handled finish
 * // No gateway in the path: straight to the etcd of `gateway.registry.store: etcd`.
 * await register({ name: "orders", port: 9003, etcd: { endpoints: ["http://10.0.0.5:2379"], prefix: "/shop/" } });
 * ```
 */
export async function register(options: RegisterOptions): Promise<Registration> {
  const registration = new Registration(options).start();
  if (options.wait !== false) await registration.ready;
  return registration;
}

function checkOptions(options: RegisterOptions, caller: string): void {
  if (typeof options !== "object" || options === null) {
    throw new TypeError("register(options): options must be an object");
  }
  if (typeof options.name !== "string" || options.name === "") {
    throw new TypeError(`${caller}: name must be a non-empty string`);
  }
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
    throw new TypeError(`${caller}: port must be a whole number from 1 to 65535`);
  }
}

/** The registry's own settings when none are given: `defaultTtl` and `maxTtl`, any network. */
const defaultRules = registrySchema.parse({})!;

/**
 * The instance as the registry API would take it, for registering straight in etcd; a
 * RegistryError (400, every problem listed) as the API would answer when it is not valid.
 */
function checked(service: string, id: string, instance: InstanceBody): CheckedInstance {
  try {
    return parseRegistration(service, id, instance, defaultRules);
  } catch (error) {
    if (!isGatehouseError(error)) throw error;
    throw new RegistryError(error.status, error.code, error.message, error.problems);
  }
}

/** The registration body: only the fields given, so the registry's defaults apply to the rest. */
function instanceBody(options: RegisterOptions, address: string, caller: string): InstanceBody {
  const body: InstanceBody = {
    address,
    port: options.port,
    protocol: options.protocol ?? "http",
  };
  if (options.ttl !== undefined) {
    body.ttl = `${durationOption(options.ttl, 0, "ttl", caller)}ms`;
  }
  if (options.version !== undefined) body.version = options.version;
  if (options.zone !== undefined) body.zone = options.zone;
  if (options.tags !== undefined) body.tags = [...options.tags];
  if (options.metadata !== undefined) body.metadata = { ...options.metadata };
  if (options.weight !== undefined) body.weight = options.weight;
  if (options.healthCheck !== undefined) body.healthCheck = { ...options.healthCheck };
  return body;
}

/** A duration option given as milliseconds or as text (`"10s"`), in milliseconds. */
function durationOption(
  value: string | number | undefined,
  fallback: number,
  name: string,
  caller: string,
): number {
  if (value === undefined) return fallback;
  const ms = typeof value === "number" ? value : parseDuration(value);
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
    throw new TypeError(
      `${caller}: ${name} must be milliseconds or a duration like "500ms" or "10s"`,
    );
  }
  return Math.round(ms);
}
