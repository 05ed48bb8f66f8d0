/**
 * @module providers/etcd
 * The etcd provider: many gateway nodes share one config through etcd. At start a node
 * catches up from etcd's current version (the first node on an empty prefix seeds it with
 * its file's services, routes, consumers and plugins); then ONE watch on `current` brings
 * every new version, which is validated exactly as the file is and applied through the
 * control plane under etcd's version number. Admin changes are written to etcd first (see
 * `commit`). etcd down: the node keeps serving what it applied, keeps retrying, says it is
 * stale (log line, `gatehouse_config_store_up`), and refuses admin changes with a 503.
 */
import { type ConfigDocument, configOriginOf, dynamicSections } from "../config/document.ts";
import type { GatehouseConfig } from "../config/schema/index.ts";
import { GatehouseError, isGatehouseError } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import type { ChangeOrigin, SharedConfigStore } from "../runtime/config-change.ts";
import type { ConfigVersion } from "../runtime/config-history.ts";
import type { ControlPlane } from "../runtime/control-plane.ts";
import { EtcdCacheWriter, readEtcdCache } from "./etcd-cache.ts";
import { EtcdFollower } from "./etcd-follow.ts";
import { EtcdStatus } from "./etcd-status.ts";
import {
  type CurrentVersion,
  EtcdConfigStore,
  type EtcdSettings,
  type MalformedVersionError,
  StoreOutcomeUnknownError,
  StoreUnavailableError,
} from "./etcd-store.ts";

/** The node cannot start: etcd is unreachable and there is no cache, or etcd's config is bad. */
export class EtcdStartError extends Error {}

/** Keeps one node's config in step with etcd's. */
export class EtcdProvider implements SharedConfigStore {
  readonly #store: EtcdConfigStore;
  readonly #settings: EtcdSettings;
  readonly #control: ControlPlane;
  readonly #log: Logger;
  /** This node's own `gateway:` section: etcd holds only the dynamic part. */
  readonly #gatewaySection: unknown;
  readonly #seed: ConfigDocument;
  /** The version serving, as etcd had it: a write compares against its revision. */
  #applied: CurrentVersion | undefined;
  /**
   * The newest version from etcd this node refused (it did not validate here, or could not
   * be read whole): an admin change replaces it, so a bad version never blocks the cluster.
   */
  #refused: CurrentVersion | undefined;
  /** The revision of a version that starts etcd's history over (see #known). */
  #restartAt: number | undefined;
  readonly #status: EtcdStatus;
  readonly #cacheWriter: EtcdCacheWriter | undefined;
  #follower: EtcdFollower | undefined;

  constructor(gateway: { control: ControlPlane; log: Logger }, startup: GatehouseConfig) {
    this.#settings = startup.gateway.configStore.etcd!;
    this.#store = new EtcdConfigStore(this.#settings, startup.gateway.configStore.versions);
    this.#control = gateway.control;
    this.#log = gateway.log;
    this.#status = new EtcdStatus(gateway.log, this.#settings.endpoints);
    if (this.#settings.cache) this.#cacheWriter = new EtcdCacheWriter(this.#settings.cache);
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
    provider.#control.useSharedStore(provider);
    provider.#follower = new EtcdFollower(provider.#store, {
      known: (current) => provider.#known(current),
      empty: () => provider.#reseed(),
      malformed: (error) => provider.#malformed(error),
      wentBack: (current) => provider.#wentBack(current),
      apply: (current) => provider.#follow(current),
      reachable: (up, error) => provider.#setUp(up, error),
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
    this.#setUp(true);
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
    await this.#control.applyShared(this.#shared(cached.current, cached.sections));
    this.#applied = cached.current;
    this.#setUp(false, error);
    this.#log.warn(
      { configVersion: cached.current.version, cache },
      `started from the cached config version ${cached.current.version}: stale until etcd is back`,
    );
  }

  #known(current: CurrentVersion): boolean {
    const applied = this.#applied;
    // The version serving, written again (a reseed): writes now compare against its revision.
    if (applied && current.version === applied.version && current.hash === applied.hash)
      this.#applied = current;
    // A lower version written after the one serving: etcd's history started over (a node
    // seeded the emptied prefix from its file first). etcd is the source: take it.
    if (applied && current.version < applied.version && current.revision > applied.revision)
      this.#restartAt = current.revision;
    // (Or etcd went back in time, restored from a backup: see #restored.)
    if (current.revision === this.#restartAt && current.revision !== applied?.revision)
      return false;
    return current.version <= Math.max(applied?.version ?? 0, this.#refused?.version ?? 0);
  }

  /**
   * The prefix is empty while this node serves a version from it (etcd lost its data, or
   * someone deleted the keys): write back what this node serves, as the version it serves,
   * so the cluster can go on (the first node to get there does; the others adopt it).
   */
  async #reseed(): Promise<void> {
    const serving = this.#control.history.current;
    if (!this.#applied) return;
    const record = { appliedAt: new Date().toISOString(), source: "start", actor: "reseed" };
    const sections = sectionsOf(serving.document);
    const { current, seeded } = await this.#store.seed(sections, record, serving.version);
    if (seeded) {
      this.#applied = current;
      this.#log.warn(
        { configVersion: current.version },
        `the etcd prefix was empty (its data lost or deleted): wrote back the config this node serves, version ${current.version}`,
      );
    } else if (!this.#known(current)) await this.#follow(current);
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
    const restart = current.revision === this.#restartAt;
    const before = this.#applied?.version;
    const applied = await this.#control.applyShared({
      ...this.#shared(current, sections),
      restart,
    });
    if (restart || !this.#applied || current.version > this.#applied.version) {
      this.#applied = current;
      this.#refused = undefined;
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
      await this.#cache(current, sections, restart);
    }
  }

  #refuse(current: CurrentVersion, error: Error): void {
    if (!this.#refused || current.revision > this.#refused.revision) this.#refused = current;
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
    const applied = this.#applied;
    if (!applied || error.revision <= Math.max(applied.revision, this.#refused?.revision ?? 0))
      return;
    this.#refused = { ...applied, revision: error.revision };
    const problems = [error.message];
    this.#control.reloadRefused(problems, { source: "etcd", actor: "unknown" });
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

  /**
   * Writes an admin change to etcd as the version after `basedOn`, only if etcd's current
   * version is still the one this node applied, or one it refused since (its revision,
   * compared in the transaction).
   */
  async commit(
    document: ConfigDocument,
    basedOn: ConfigVersion,
    origin: ChangeOrigin & { rolledBackTo?: number; ifMatch?: number },
  ): Promise<{ version: number }> {
    const applied = this.#applied;
    if (!applied || basedOn.version !== applied.version)
      throw new GatehouseError(
        "GATEHOUSE_CONFIG_CONFLICT",
        `etcd's current version is not ${basedOn.version} (this node is catching up): fetch the config and retry`,
      );
    // Written on this node's older document, the change would drop the refused version's
    // changes cluster-wide (refused here for a local reason, it may serve everywhere else).
    const refused = this.refusedVersion;
    if (refused !== undefined && origin.ifMatch !== refused)
      throw new GatehouseError(
        "GATEHOUSE_CONFIG_CONFLICT",
        `etcd's current version ${refused} was refused on this node (see lastRefusal in GET /config/versions), which serves version ${applied.version}: a change made here would drop version ${refused}'s changes. Fix what this node lacks, or make the change through a node serving version ${refused}, or send If-Match: "${refused}" to replace version ${refused} with this change`,
      );
    const base =
      this.#refused && this.#refused.revision > applied.revision ? this.#refused : applied;
    const sections = sectionsOf(document);
    const record = {
      appliedAt: new Date().toISOString(),
      source: origin.source,
      actor: origin.actor,
      ...(origin.rolledBackTo !== undefined && { rolledBackTo: origin.rolledBackTo }),
    };
    let written: CurrentVersion;
    try {
      written = await this.#store.write(sections, record, base);
    } catch (error) {
      if (isGatehouseError(error, "GATEHOUSE_CONFIG_CONFLICT"))
        throw new GatehouseError(
          "GATEHOUSE_CONFIG_CONFLICT",
          (await this.#restored()) ?? error.message,
        );
      const ours = error instanceof StoreOutcomeUnknownError && (await this.#committed(error));
      if (!ours) throw this.#unavailable(error as Error, basedOn);
      written = ours;
    }
    this.#applied = written;
    this.#setUp(true);
    await this.#cache(written, sections);
    return written;
  }

  /**
   * After a write conflict: whether etcd went back in time (restored from a backup: a lower
   * version at a lower revision, which the watch never announces). etcd is the source: the
   * node takes its version as a restart (after this change, which it refuses).
   */
  async #restored(): Promise<string | undefined> {
    const current = await this.#store.readCurrent().catch(() => undefined);
    const serving = this.#applied?.version;
    if (!current || !this.#wentBack(current)) return undefined;
    this.#follower?.rewatch();
    this.#follower?.offer(current);
    return `etcd's config went back to version ${current.version} (etcd restored from a backup?) while this node served version ${serving}: this node takes it now; fetch the config and retry`;
  }

  /** `current`, just read, is behind what this node applied: it starts the history over. */
  #wentBack(current: CurrentVersion): boolean {
    const applied = this.#applied;
    if (!applied || current.version >= applied.version || current.revision >= applied.revision)
      return false;
    if (current.revision === this.#restartAt) return false;
    this.#restartAt = current.revision;
    return true;
  }

  get refusedVersion(): number | undefined {
    const refused = this.#refused;
    const applied = this.#applied;
    return refused && applied && refused.version > applied.version ? refused.version : undefined;
  }

  /** After a write whose transaction etcd did not answer in time: `current`, if it is ours. */
  async #committed(error: StoreOutcomeUnknownError): Promise<CurrentVersion | undefined> {
    const current = await this.#store.readCurrent().catch(() => undefined);
    return current?.writeId === error.writeId ? current : undefined;
  }

  #unavailable(error: Error, basedOn: ConfigVersion): GatehouseError {
    this.#setUp(false, error);
    if (error instanceof StoreOutcomeUnknownError)
      return new GatehouseError(
        "GATEHOUSE_CONFIG_STORE_UNAVAILABLE",
        `etcd did not answer the write in time (${error.message}): the outcome is unknown; it may have become version ${error.version} (every node then applies it) or nothing was applied (version ${basedOn.version} keeps serving): fetch the config to see before retrying`,
      );
    return new GatehouseError(
      "GATEHOUSE_CONFIG_STORE_UNAVAILABLE",
      `cannot write the change to etcd (${error.message}): nothing was applied; every node keeps serving version ${basedOn.version}; retry when etcd is back`,
    );
  }

  async #cache(current: CurrentVersion, sections: ConfigDocument, restart = false): Promise<void> {
    const writer = this.#cacheWriter;
    await writer
      ?.write({ current, sections }, restart)
      .catch((error: Error) =>
        this.#log.warn(
          { cache: writer.file, error: error.message },
          `cannot write the etcd cache ${writer.file}`,
        ),
      );
  }

  #setUp(up: boolean, error?: Error): void {
    this.#status.set(up, this.#applied?.version, error);
  }

  /** Stops watching and closes the client; the config serving stays. */
  close(): void {
    this.#follower?.close();
    this.#store.close();
  }
}

/** The dynamic sections of a document (what etcd holds). */
function sectionsOf(document: ConfigDocument): ConfigDocument {
  const sections: ConfigDocument = {};
  for (const section of dynamicSections)
    if (document[section] !== undefined) sections[section] = document[section];
  return sections;
}
