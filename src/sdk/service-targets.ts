/**
 * @module sdk/service-targets
 * What a service client calls, whatever it speaks: a Service of the gateway's upstream
 * layer, built from the client's settings (client-config.ts), whose targets are the
 * service's instances that are up, speak the client's protocol and pass its filters (the
 * registry discovery's own `matchesFilters`). They are held in a TargetRegistry as the
 * gateway holds its own, so a target keeps its health, ejection and breaker state for as
 * long as its instance stays. Also each call's deadline, which waits for the registry's
 * first answer within it.
 */
import { matchesFilters } from "../discovery/registry.ts";
import type { InstanceProtocol } from "../registry/instance.ts";
import { TargetRegistry } from "../runtime/target-registry.ts";
import { Service } from "../upstream/service.ts";
import type { Target } from "../upstream/target.ts";
import { type ClientSettings, clientSettings } from "./client-config.ts";
import type { ClientOptions } from "./client-options.ts";
import { earliestDeadline, timeoutMs } from "./deadline.ts";
import { type InstanceSource, instanceSource } from "./instance-source.ts";
import type { RegistryInstance } from "./instance-watch.ts";
import type { RegistryError } from "./registry-endpoint.ts";
import { ServiceCallError } from "./service-call-error.ts";

/** A client's service and the instances it follows. */
export class ServiceTargets {
  readonly name: string;
  readonly service: Service;
  readonly #settings: ClientSettings;
  readonly #protocol: InstanceProtocol;
  readonly #pool = new TargetRegistry();
  readonly #source: InstanceSource;
  readonly #discoveryTimeout: number;
  #closed = false;

  /**
   * Follows the `protocol` instances of the service `name` where `options` say; throws a
   * TypeError when the name or the options are not valid.
   */
  constructor(name: string, options: ClientOptions, protocol: InstanceProtocol) {
    if (typeof name !== "string" || name === "") {
      throw new TypeError("serviceClient(name): name must be a non-empty string");
    }
    const caller = `serviceClient(${JSON.stringify(name)})`;
    const settings = clientSettings(name, options, protocol);
    this.name = name;
    this.#settings = settings;
    this.#protocol = protocol;
    this.#discoveryTimeout = options.discoveryTimeout ?? 5_000;
    this.service = new Service(settings.config, undefined, { zone: settings.zone });
    this.#source = instanceSource(name, options, (instances) => this.#set(instances), caller);
  }

  /** The largest answer a call takes (`maxResponseSize`, in bytes); 0: no limit. */
  get maxResponseSize(): number {
    return this.#settings.maxResponseSize;
  }

  /** The instances as last heard of (down ones and those the filters leave out included). */
  get instances(): RegistryInstance[] {
    return this.#source.instances;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves once the registry has told the instances (up to `timeoutMs`). */
  whenSynced(timeoutMs = this.#discoveryTimeout): Promise<void> {
    return this.#source.whenSynced(timeoutMs);
  }

  /**
   * A call's deadline (`Date.now()` time; undefined: none): its own `timeout`, else the
   * client's, and never later than `inherited` (the request being handled). Resolves once
   * the registry's first answer came, or the discovery timeout or the deadline would pass.
   */
  async callDeadline(
    timeout: number | string | undefined,
    inherited: number | undefined,
  ): Promise<number | undefined> {
    const ms =
      timeout === undefined
        ? this.service.timeouts.total
        : timeoutMs(timeout, `${this.name}: timeout`);
    const deadline = earliestDeadline(ms, inherited);
    if (!this.#source.synced) {
      const wait = deadline === undefined ? this.#discoveryTimeout : deadline - Date.now();
      await this.#source.whenSynced(Math.min(this.#discoveryTimeout, wait));
    }
    return deadline;
  }

  /** Why the registry cannot be followed, while it cannot (the instances are the last known). */
  get discoveryError(): RegistryError | undefined {
    return this.#source.lastError;
  }

  /** A call that found no target while the registry could not be followed says why. */
  withDiscoveryCause(error: unknown): unknown {
    const cause = this.#source.lastError;
    if (
      !(error instanceof ServiceCallError) ||
      error.code !== "GATEHOUSE_NO_AVAILABLE_TARGET" ||
      !cause
    ) {
      return error;
    }
    return new ServiceCallError(
      error.code,
      `${error.message} (the registry could not be followed: ${cause.message})`,
      { service: this.name, tries: 0, cause },
    );
  }

  /** Stops following the registry and closes the connections (calls in flight finish). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#source.close();
    this.service.setTargets([], this.#pool);
    this.#pool.release([...this.#pool.values()]);
  }

  /** The registry's instances became these: the up ones that count are the targets. */
  #set(instances: readonly RegistryInstance[]): void {
    if (this.#closed) return;
    const before = this.service.targets;
    this.service.setTargets(
      instances
        .filter(
          (instance) =>
            instance.state === "up" &&
            instance.protocol === this.#protocol &&
            matchesFilters(instance, this.#settings.filters),
        )
        .map((instance) => ({
          url: instance.url,
          weight: instance.weight ?? 1,
          zone: instance.zone,
          version: instance.version,
          tags: instance.tags,
          metadata: instance.metadata,
        })),
      this.#pool,
    );
    const kept = new Set<Target>(this.service.targets);
    // Gone or down: no new calls; calls in flight to it finish, then its connections close.
    this.#pool.release(before.filter((target) => !kept.has(target)));
  }
}
