/**
 * @module runtime/config-change
 * The words of a config change: who asked and from where, what they asked for, how it
 * ended (a refusal is a GatehouseError), a version read from the store many nodes share, a
 * service's discovered targets, and the messages every source submits to the control
 * plane's one door.
 */
import type { ConfigDocument } from "../config/document.ts";
import type { GatehouseConfig } from "../config/schema/index.ts";
import type { TargetListing } from "../upstream/service.ts";
import type { ConfigSource, ConfigVersion } from "./config-history.ts";
import type { ConfigStore } from "./config-store.ts";

/** Who asked for a change, and from where. */
export interface ChangeOrigin {
  source: ConfigSource;
  /** An admin key id, `anonymous-loopback`, `file-watch` or `SIGHUP`. */
  actor: string;
  remoteAddress?: string;
  requestId?: string;
}

/** A change to the config as written, made against whatever version is current when it runs. */
export interface ChangeRequest extends ChangeOrigin {
  /** What the audit trail calls it: `config.replace`, `route.update`, `config.rollback`… */
  action: string;
  /** The version the client based its change on (`If-Match`); another one now is a conflict. */
  ifMatch?: number;
  /** The new document, from the current one; throws a GatehouseError to refuse (not found, taken). */
  edit(current: ConfigDocument): ConfigDocument;
  /** For a rollback: the version whose document `edit` returns. */
  rolledBackTo?: number;
}

/** How a change that was not refused ended. */
export type ChangeResult =
  | { result: "applied"; version: ConfigVersion }
  /** The new document validates to the config already serving: no new version. */
  | { result: "unchanged"; version: ConfigVersion };

/** A config file refused on reload. */
export interface Refusal {
  at: Date;
  source: ConfigSource;
  actor: string;
  problems: string[];
}

/** A version read from the shared store: its number, who wrote it, and the document. */
export interface SharedVersion {
  version: number;
  actor: string;
  rolledBackTo?: number;
  document: ConfigDocument;
  /** The store's history started over (its data was lost): applied whatever its number. */
  restart?: boolean;
}

/** An admin change or a rollback, made against the version current when it runs. */
export interface ChangeMessage {
  kind: "change";
  request: ChangeRequest;
}

/**
 * A snapshot of the config file (the watcher saw a change, or SIGHUP). `read` runs when
 * its turn comes: it loads and validates the file (throwing a ConfigError to refuse it),
 * or resolves undefined when there is nothing to apply (the same bytes, a file missing).
 */
export interface SnapshotMessage {
  kind: "snapshot";
  origin: ChangeOrigin;
  read(): Promise<GatehouseConfig | undefined>;
}

/** How a snapshot of the config file ended. */
export type SnapshotResult =
  | { result: "applied"; version: number; hash: string }
  /** Valid and equal to the config serving; `endedRefusal` when a refusal was standing. */
  | { result: "unchanged"; hash: string; endedRefusal: boolean }
  | { result: "refused"; problems: string[] }
  /** Nothing read to apply (or etcd holds the config). */
  | { result: "skipped" };

/** A version the etcd follower read. */
export interface VersionMessage {
  kind: "version";
  version: SharedVersion;
}

/** A source's config that cannot be taken (etcd's `current` is not a version record). */
export interface RefusalMessage {
  kind: "refused";
  origin: ChangeOrigin;
  problems: string[];
}

/** From now on accepted changes are written to `store` (etcd's, once the node caught up). */
export interface StoreMessage {
  kind: "store";
  store: ConfigStore;
}

/**
 * A service's targets as its discovery source found them (DNS answers; the service
 * registry's instances). Applied to that service alone, in its turn after any config change
 * before it: no validation of the config, no config version, no audit entry.
 */
export interface TargetsMessage {
  kind: "targets";
  service: string;
  targets: readonly TargetListing[];
}

/**
 * The listeners' certificate files changed on disk: read them again. Static config, so no
 * validation of the config, no version and no audit entry; a certificate that does not load
 * is refused and the previous ones keep serving.
 */
export interface CertificatesMessage {
  kind: "certificates";
}

/** What a source submits to the control plane. */
export type ConfigMessage =
  | TargetsMessage
  | CertificatesMessage
  | ChangeMessage
  | SnapshotMessage
  | VersionMessage
  | RefusalMessage
  | StoreMessage;
