/**
 * @module providers/etcd
 * The etcd follower: many gateway nodes share one config through etcd. At start a node
 * catches up from etcd's current version (the first node on an empty prefix seeds it with
 * its file's services, routes, consumers and plugins); then ONE watch on `current` brings
 * every new version, which is validated exactly as the file is and applied through the
 * control plane under etcd's version number. Admin changes are written to etcd first, by
 * the node's EtcdSharedStore. etcd down: the node keeps serving what it applied, keeps
 * retrying, says it is stale (log line, `gatehouse_config_store_up`), and refuses admin
 * changes with a 503.
 */
import { type ConfigDocument, configOriginOf } from "../config/document.ts";
import type { GatehouseConfig } from "../config/schema/index.ts";
import { GatehouseError } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import type { ControlPlane } from "../runtime/control-plane.ts";
import { EtcdCacheWriter, readEtcdCache } from "./etcd-cache.ts";
import { EtcdFollower } from "./etcd-follow.ts";
import { EtcdPosition } from "./etcd-position.ts";
import { EtcdSharedStore, sectionsOf } from "./etcd-shared-store.ts";
import { EtcdStatus } from "./etcd-status.ts";
import {
  type CurrentVersion,
  EtcdConfigStore,
  type EtcdSettings,
  type MalformedVersionError,
  StoreUnavailableError,
} from "./etcd-store.ts";

/** The node cannot start: etcd is unreachable and there is no cache, or etcd's config is bad. */
export class EtcdStartError extends Error {}

/** Keeps one node's config in step with etcd's: the source of etcd's versions. */
export class EtcdProvider {
  readonly #store: EtcdConfigStore;
  readonly #settings: EtcdSettings;
  readonly #control: ControlPlane;
  readonly #log: Logger;
  /** This node's own `gateway:` section: etcd holds only the dynamic part. */
  readonly #gatewaySection: unknown;
  readonly #seed: ConfigDocument;
  /** Where this node stands in etcd's history (shared with the store it writes through). */
  readonly #position = new EtcdPosition();
  /** Where the control plane writes admin changes: etcd, after the version serving here. */
  readonly sharedStore: EtcdSharedStore;
  #follower: EtcdFollower | undefined;

  constructor(gateway: { control: ControlPlane; log: Logger }, startup: GatehouseConfig) {
    this.#settings = startup.gateway.configStore.etcd!;
    this.#store = new EtcdConfigStore(this.#settings, startup.gateway.configStore.versions);
    this.#control = gateway.control;
    this.#log = gateway.log;
    this.sharedStore = new EtcdSharedStore({
      store: this.#store,
      position: this.#position,
      status: new EtcdStatus(gateway.log, this.#settings.endpoints),
      cacheWriter: this.#settings.cache ? new EtcdCacheWriter(this.#settings.cache) : undefined,
      log: gateway.log,
    });
    // A write found etcd went back in time: watch again from there and take its version.
    this.sharedStore.onWentBack((current) => {
      this.#follower?.rewatch();
      this.#follower?.offer(current);
    });
    const document = configOriginOf(startup)?.document ?? {};
    this.#gatewaySection = document.gateway;
    this.#seed = sectionsOf(document);
  }

  /** Starts a node in etcd mode: catch up (or seed, or start from the cache), then watch. */
  static async start(
    gateway: { control: ControlPlane; log: Logger },
    startup: GatehouseConfig,
  ): Promise<EtcdProvider> {
    const provider = new EtcdProvider(gateway, startup);
    try {
      await provider.#catchUpAtStart();
    } catch (error) {
      provider.close();
      throw error;
    }
    await provider.#control.submit({ kind: "store", store: provider.sharedStore });
    provider.#follower = new EtcdFollower(provider.#store, {
      known: (current) => provider.#position.known(current),
      empty: () => provider.#reseed(),
      malformed: (error) => provider.#malformed(error),
      wentBack: (current) => provider.#position.wentBack(current),
      apply: (current) => provider.#follow(current),
      reachable: (up, error) => provider.sharedStore.setUp(up, error),
    });
    return provider;
  }

  async #catchUpAtStart(): Promise<void> {
    let current: CurrentVersion;
    let sections: ConfigDocument;
    try {
      current = (await this.#store.readCurrent()) ?? (await this.#seedPrefix());
      sections = await this.#store.readDocument(current);
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      return this.#startFromCache(error);
    }
    try {
      await this.#apply(current, sections);
    } catch (error) {
      throw new EtcdStartError(
        `etcd's current config (version ${current.version}) does not validate on this node: ${(error as Error).message}`,
      );
    }
    this.sharedStore.setUp(true);
  }

  /** An empty prefix gets this node's file; if another node seeded first, its version wins. */
  async #seedPrefix(): Promise<CurrentVersion> {
    const record = { appliedAt: new Date().toISOString(), source: "start", actor: "seed" };
    const { current, seeded } = await this.#store.seed(this.#seed, record);
    if (seeded)
      this.#log.info(
        { configVersion: 1 },
        "etcd prefix was empty: seeded it with the file's config",
      );
    return current;
  }

  async #startFromCache(error: Error): Promise<void> {
    const { cache, endpoints } = this.#settings;
    const unreachable = `cannot reach etcd at ${endpoints.join(", ")} (${error.message})`;
    if (!cache)
      throw new EtcdStartError(
        `${unreachable}, and gateway.configStore.etcd.cache is not set: refusing to start without the cluster's config (set cache to start from the last config applied here)`,
      );
    const cached = await readEtcdCache(cache);
    if (!cached)
      throw new EtcdStartError(`${unreachable}, and the cache ${cache} does not exist yet`);
    await this.#control.submit({
      kind: "version",
      version: this.#shared(cached.current, cached.sections),
    });
    this.#position.applied = cached.current;
    this.sharedStore.setUp(false, error);
    this.#log.warn(
      { configVersion: cached.current.version, cache },
      `started from the cached config version ${cached.current.version}: stale until etcd is back`,
    );
  }

  /**
   * The prefix is empty while this node serves a version from it (etcd lost its data, or
   * someone deleted the keys): write back what this node serves, as the version it serves,
   * so the cluster can go on (the first node to get there does; the others adopt it).
   */
  async #reseed(): Promise<void> {
    const serving = this.#control.history.current;
    if (!this.#position.applied) return;
    const record = { appliedAt: new Date().toISOString(), source: "start", actor: "reseed" };
    const sections = sectionsOf(serving.document);
    const { current, seeded } = await this.#store.seed(sections, record, serving.version);
    if (seeded) {
      this.#position.applied = current;
      this.#log.warn(
        { configVersion: current.version },
        `the etcd prefix was empty (its data lost or deleted): wrote back the config this node serves, version ${current.version}`,
      );
    } else if (!this.#position.known(current)) await this.#follow(current);
  }

  /** A version the watch announced: applied, or refused (a read failure is the follower's). */
  async #follow(current: CurrentVersion): Promise<void> {
    try {
      await this.#apply(current, await this.#store.readDocument(current));
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      this.#refuse(current, error as Error);
    }
  }

  /** Applies a version read from etcd (skipped if this node wrote it), then caches it. */
  async #apply(current: CurrentVersion, sections: ConfigDocument): Promise<void> {
    const restart = current.revision === this.#position.restartAt;
    const before = this.#position.applied?.version;
    const applied = await this.#control.submit({
      kind: "version",
      version: { ...this.#shared(current, sections), restart },
    });
    if (restart || !this.#position.applied || current.version > this.#position.applied.version) {
      this.#position.applied = current;
      this.#position.refused = undefined;
    }
    if (restart)
      this.#log.warn(
        { configVersion: current.version, previousVersion: before },
        `etcd's config history started over (version ${current.version} after ${before}: the prefix was emptied and seeded anew, or etcd restored from a backup): serving it`,
      );
    if (applied) {
      this.#log.info(
        { configVersion: current.version, actor: current.actor },
        `applied config version ${current.version} from etcd`,
      );
      await this.sharedStore.cache(current, sections, restart);
    }
  }

  #refuse(current: CurrentVersion, error: Error): void {
    if (!this.#position.refused || current.revision > this.#position.refused.revision)
      this.#position.refused = current;
    const problems = error instanceof GatehouseError ? error.problems : undefined;
    this.#log.error(
      { configVersion: current.version, problems: problems ?? [error.message] },
      `etcd's config version ${current.version} is refused on this node: the last good config keeps serving`,
    );
  }

  /**
   * `current` holds no version record (an operator's `etcdctl put`): refused like a version
   * that does not validate. The next admin change replaces it, as the version after the one
   * serving, compared against its revision.
   */
  #malformed(error: MalformedVersionError): void {
    const applied = this.#position.applied;
    if (
      !applied ||
      error.revision <= Math.max(applied.revision, this.#position.refused?.revision ?? 0)
    )
      return;
    this.#position.refused = { ...applied, revision: error.revision };
    const problems = [error.message];
    void this.#control.submit({
      kind: "refused",
      problems,
      origin: { source: "etcd", actor: "unknown" },
    });
    this.#log.error(
      { configVersion: applied.version, problems },
      `etcd's current config is not a version record (${error.message}): refused on this node; the last good config keeps serving`,
    );
  }

  #shared(current: CurrentVersion, sections: ConfigDocument) {
    const { version, actor, rolledBackTo } = current;
    const document = { gateway: this.#gatewaySection, ...sections };
    return { version, actor, document, ...(rolledBackTo !== undefined && { rolledBackTo }) };
  }

  /** Stops watching and closes the client; the config serving stays. */
  close(): void {
    this.#follower?.close();
    this.#store.close();
  }
}
