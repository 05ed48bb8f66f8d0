/**
 * @module runtime/config-history
 * The configs the gateway applied, newest last, the last N of them: each with its version,
 * content hash, when and from where it came and who sent it, and the document as written,
 * so it can be shown, compared with another and rolled back to.
 */
import type { ConfigDocument } from "../config/document.ts";

/** Where an applied config came from. */
export type ConfigSource = "start" | "file" | "admin" | "rollback";

/** One applied config. */
export interface ConfigVersion {
  version: number;
  hash: string;
  appliedAt: Date;
  source: ConfigSource;
  /** An admin key id, `anonymous-loopback`, `file-watch`, `SIGHUP` or `startup`. */
  actor: string;
  /** For a rollback: the version whose config it restored. */
  rolledBackTo?: number;
  document: ConfigDocument;
}

/** The last `keep` applied configs. */
export class ConfigHistory {
  readonly #keep: number;
  readonly #versions: ConfigVersion[] = [];

  constructor(keep: number) {
    this.#keep = keep;
  }

  record(version: ConfigVersion): void {
    this.#versions.push(version);
    if (this.#versions.length > this.#keep) this.#versions.shift();
  }

  /** The config serving now. */
  get current(): ConfigVersion {
    return this.#versions.at(-1)!;
  }

  /** Every kept version, newest first. */
  list(): ConfigVersion[] {
    return this.#versions.toReversed();
  }

  /** A kept version; undefined when it is older than the last `keep` or never existed. */
  get(version: number): ConfigVersion | undefined {
    return this.#versions.find((entry) => entry.version === version);
  }
}
