/**
 * @module runtime/config-history
 * The configs the gateway applied, newest last, the last N of them: each with its version,
 * content hash, when and from where it came and who sent it, and the document as written,
 * so it can be shown, compared with another and rolled back to. Older documents are kept
 * as JSON text (a fifth of the memory of the objects, and they are rarely read): twenty
 * versions of a 10,000-route config stay in the tens of megabytes.
 */
import type { ConfigDocument } from "../config/document.ts";

/** Where an applied config came from. */
export type ConfigSource = "start" | "file" | "admin" | "rollback" | "etcd";

/** One applied config, without its document. */
export interface ConfigVersionSummary {
  version: number;
  hash: string;
  appliedAt: Date;
  source: ConfigSource;
  /** An admin key id, `anonymous-loopback`, `file-watch`, `SIGHUP` or `startup`. */
  actor: string;
  /** For a rollback: the version whose config it restored. */
  rolledBackTo?: number;
}

/** One applied config, with the document it was applied from. */
export interface ConfigVersion extends ConfigVersionSummary {
  document: ConfigDocument;
}

/** The last `keep` applied configs. */
export class ConfigHistory {
  readonly #keep: number;
  readonly #versions: (ConfigVersionSummary & { text: string })[] = [];
  #current: ConfigVersion | undefined;

  constructor(keep: number) {
    this.#keep = keep;
  }

  /**
   * Records the version now serving. `fresh`: it starts the history over (a node in etcd
   * mode drops the file's config it was constructed with once etcd's current one serves).
   */
  record(version: ConfigVersion, fresh = false): void {
    if (fresh) this.#versions.length = 0;
    const { document, ...summary } = version;
    this.#versions.push({ ...summary, text: JSON.stringify(document) });
    if (this.#versions.length > this.#keep) this.#versions.shift();
    this.#current = version;
  }

  /** The config serving now. Its document must not be changed: copy it first. */
  get current(): ConfigVersion {
    return this.#current!;
  }

  /** Every kept version, newest first. */
  list(): ConfigVersionSummary[] {
    return this.#versions.map(({ text: _text, ...summary }) => summary).reverse();
  }

  /** A kept version; undefined when it is older than the last `keep` or never existed. */
  get(version: number): ConfigVersion | undefined {
    const entry = this.#versions.find((kept) => kept.version === version);
    if (!entry) return undefined;
    const { text, ...summary } = entry;
    return { ...summary, document: JSON.parse(text) as ConfigDocument };
  }
}
