/**
 * @module runtime/config-store
 * Where an accepted config change is written before it serves: nowhere but this node's
 * memory, back into the config file, or first to etcd (which numbers the versions for the
 * whole cluster). The control plane talks to one ConfigStore whichever it is; every store
 * refuses a change whose base moved with one error, GATEHOUSE_CONFIG_CONFLICT.
 */
import type { ConfigDocument } from "../config/document.ts";
import type { ChangeOrigin } from "./config-change.ts";
import type { ConfigVersion } from "./config-history.ts";

/** Who asked for a change being written, and what it was based on. */
export type StoredChange = ChangeOrigin & { rolledBackTo?: number; ifMatch?: number };

/** Where the documents of accepted changes are kept. */
export interface ConfigStore {
  /**
   * Writes `document`, the change from `basedOn`, before it serves. Resolves with the
   * version number the store gave it when the store numbers versions (etcd), undefined
   * when this node does. Refuses with a GatehouseError: GATEHOUSE_CONFIG_CONFLICT (the
   * store moved on since `basedOn`), GATEHOUSE_CONFIG_NOT_WRITABLE,
   * GATEHOUSE_CONFIG_STORE_FAILED or GATEHOUSE_CONFIG_STORE_UNAVAILABLE.
   */
  write(
    document: ConfigDocument,
    basedOn: ConfigVersion,
    change: StoredChange,
  ): Promise<number | undefined>;
  /** Whether the store is shared by many nodes, and its versions come from it alone. */
  readonly shared: boolean;
  /** The store's current version when this node refused it: `If-Match` may name it to replace it. */
  readonly refusedVersion: number | undefined;
  /** Calls `listener` with each text a change writes into a config file (the file store's). */
  onWrite?(listener: (file: string, text: string) => void): void;
}

/** Changes kept in this node's memory only (`gateway.configStore.file: false`, a config made in code). */
export class MemoryConfigStore implements ConfigStore {
  readonly shared = false;
  readonly refusedVersion = undefined;

  async write(): Promise<undefined> {
    return undefined;
  }
}
