/**
 * @module runtime/config-change
 * The words of a config change: who asked and from where, what they asked for, how it
 * ended (a refusal is a GatehouseError), and a version read from the store many nodes share.
 */
import type { ConfigDocument } from "../config/document.ts";
import type { ConfigSource, ConfigVersion } from "./config-history.ts";

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
