/**
 * @module providers/etcd-shared-store
 * The config store of a node in etcd mode: an admin change is written to etcd first, as
 * the version after the one this node serves, compared against its revision in one
 * transaction, and serves once etcd numbered it. A write that loses the race is a
 * GATEHOUSE_CONFIG_CONFLICT (409); etcd down is GATEHOUSE_CONFIG_STORE_UNAVAILABLE (503).
 */
import { type ConfigDocument, dynamicSections } from "../config/document.ts";
import { GatehouseError, isGatehouseError } from "../errors.ts";
import type { Logger } from "../observability/logger.ts";
import type { ConfigVersion } from "../runtime/config-history.ts";
import type { ConfigStore, StoredChange } from "../runtime/config-store.ts";
import type { EtcdCacheWriter } from "./etcd-cache.ts";
import type { EtcdPosition } from "./etcd-position.ts";
import type { EtcdStatus } from "./etcd-status.ts";
import {
  type CurrentVersion,
  type EtcdConfigStore,
  StoreOutcomeUnknownError,
} from "./etcd-store.ts";

/** Writes one node's admin changes to etcd. */
export class EtcdSharedStore implements ConfigStore {
  readonly shared = true;
  readonly #store: EtcdConfigStore;
  readonly #position: EtcdPosition;
  readonly #status: EtcdStatus;
  readonly #cacheWriter: EtcdCacheWriter | undefined;
  readonly #log: Logger;
  /** Told when a write finds etcd went back in time: the follower takes that version. */
  #wentBackTo: ((current: CurrentVersion) => void) | undefined;

  constructor(options: {
    store: EtcdConfigStore;
    position: EtcdPosition;
    status: EtcdStatus;
    cacheWriter: EtcdCacheWriter | undefined;
    log: Logger;
  }) {
    this.#store = options.store;
    this.#position = options.position;
    this.#status = options.status;
    this.#cacheWriter = options.cacheWriter;
    this.#log = options.log;
  }

  /** Calls `listener` with the version etcd went back to, when a write finds it did. */
  onWentBack(listener: (current: CurrentVersion) => void): void {
    this.#wentBackTo = listener;
  }

  /**
   * Writes an admin change to etcd as the version after `basedOn`, only if etcd's current
   * version is still the one this node applied, or one it refused since (its revision,
   * compared in the transaction).
   */
  async write(
    document: ConfigDocument,
    basedOn: ConfigVersion,
    origin: StoredChange,
  ): Promise<number> {
    const applied = this.#position.applied;
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
      this.#position.refused && this.#position.refused.revision > applied.revision
        ? this.#position.refused
        : applied;
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
    this.#position.applied = written;
    this.setUp(true);
    await this.cache(written, sections);
    return written.version;
  }

  /**
   * After a write conflict: whether etcd went back in time (restored from a backup: a lower
   * version at a lower revision, which the watch never announces). etcd is the source: the
   * node takes its version as a restart (after this change, which it refuses).
   */
  async #restored(): Promise<string | undefined> {
    const current = await this.#store.readCurrent().catch(() => undefined);
    const serving = this.#position.applied?.version;
    if (!current || !this.#position.wentBack(current)) return undefined;
    this.#wentBackTo?.(current);
    return `etcd's config went back to version ${current.version} (etcd restored from a backup?) while this node served version ${serving}: this node takes it now; fetch the config and retry`;
  }

  get refusedVersion(): number | undefined {
    return this.#position.refusedVersion;
  }

  /** After a write whose transaction etcd did not answer in time: `current`, if it is ours. */
  async #committed(error: StoreOutcomeUnknownError): Promise<CurrentVersion | undefined> {
    const current = await this.#store.readCurrent().catch(() => undefined);
    return current?.writeId === error.writeId ? current : undefined;
  }

  #unavailable(error: Error, basedOn: ConfigVersion): GatehouseError {
    this.setUp(false, error);
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

  /** Keeps `current` in the cache file, if one is set, to start from when etcd is down. */
  async cache(current: CurrentVersion, sections: ConfigDocument, restart = false): Promise<void> {
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

  /** Says whether etcd answers (log line and `gatehouse_config_store_up`). */
  setUp(up: boolean, error?: Error): void {
    this.#status.set(up, this.#position.applied?.version, error);
  }
}

/** The dynamic sections of a document (what etcd holds). */
export function sectionsOf(document: ConfigDocument): ConfigDocument {
  const sections: ConfigDocument = {};
  for (const section of dynamicSections)
    if (document[section] !== undefined) sections[section] = document[section];
  return sections;
}
