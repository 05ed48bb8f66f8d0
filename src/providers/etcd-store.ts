/**
 * @module providers/etcd-store
 * The etcd layout of a cluster's shared config, and its reads and writes (no gateway
 * logic). Under the prefix:
 *
 *   current                          {version, hash, writeId, chunks, appliedAt, source, actor}
 *   versions/{v}/meta                the same record, for version v
 *   versions/{v}/chunks/{writeId}/{i} the document as written (JSON), cut in ≤1 MiB pieces
 *
 * A document is cut in chunks so its size is not capped by etcd's request limit (1.5 MiB).
 * The chunks go first, each in a put of its own, under a write id of their own: a writer
 * that loses the race never overwrites the winner's chunks. Then ONE transaction makes the
 * version current, only if `current` is still the revision the writer based its change on.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Etcd3, type IKeyValue, type IOptions, isRecoverableError } from "etcd3";
import type { ConfigDocument } from "../config/document.ts";
import type { GatehouseConfig } from "../config/schema/index.ts";
import { GatehouseError, isGatehouseError } from "../errors.ts";

export type EtcdSettings = NonNullable<GatehouseConfig["gateway"]["configStore"]["etcd"]>;
/** How to reach etcd (the config store's settings, or the registry's `etcd`). */
export type EtcdConnection = Omit<EtcdSettings, "cache">;

/** What `current` and `versions/{v}/meta` hold. */
export interface StoredVersion {
  version: number;
  /** A digest of the document as stored: every node checks the chunks it read against it. */
  hash: string;
  writeId: string;
  chunks: number;
  appliedAt: string;
  source: string;
  actor: string;
  rolledBackTo?: number;
}

/** A version as read from `current`, with the etcd revision that made it current. */
export interface CurrentVersion extends StoredVersion {
  revision: number;
}

/** `current` holds no version record Gatehouse could have written (someone put it by hand). */
export class MalformedVersionError extends Error {
  /** The etcd revision that wrote it: a change replacing it is compared against it. */
  readonly revision: number;
  constructor(revision: number, message: string) {
    super(message);
    this.revision = revision;
  }
}

/** etcd did not answer (down, unreachable, too slow, refused our credentials). */
export class StoreUnavailableError extends Error {}

/**
 * The transaction that makes a version current was sent, and etcd did not answer in time:
 * it may have committed it or not. `writeId` is the one the version would have in `current`.
 */
export class StoreOutcomeUnknownError extends StoreUnavailableError {
  readonly writeId: string;
  readonly version: number;
  constructor(message: string, writeId: string, version: number) {
    super(message);
    this.writeId = writeId;
    this.version = version;
  }
}

/** Below etcd's 1.5 MiB request limit with room for the key and the request's framing. */
const chunkBytes = 1024 * 1024;

/** The config documents of one prefix in etcd. */
export class EtcdConfigStore {
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #keep: number;

  constructor(settings: EtcdSettings, keep: number) {
    this.#prefix = settings.prefix;
    this.#keep = keep;
    this.#client = new Etcd3(etcdClientOptions(settings));
  }

  get #current() {
    return `${this.#prefix}current`;
  }

  /** The current version, or undefined when the prefix holds none yet. */
  async readCurrent(): Promise<CurrentVersion | undefined> {
    const response = await unavailableOnError(() => this.#client.get(this.#current).exec());
    const kv = response.kvs[0];
    return kv && parseCurrent(kv);
  }

  /**
   * The document of `version`. Its chunks are written once under their write id and never
   * changed, so they are read at the latest revision: reading at the (possibly old)
   * revision of `current` would fail for ever once etcd compacts past it.
   */
  async readDocument(version: StoredVersion): Promise<ConfigDocument> {
    const base = `${this.#prefix}versions/${version.version}/chunks/${version.writeId}/`;
    const parts = await unavailableOnError(() =>
      Promise.all(
        Array.from({ length: version.chunks }, (_, i) => this.#client.get(`${base}${i}`).buffer()),
      ),
    );
    if (parts.some((part) => part === null))
      throw new GatehouseError(
        "GATEHOUSE_CONFIG_CONFLICT",
        `version ${version.version} is no longer kept in etcd`,
      );
    const bytes = Buffer.concat(parts as Buffer[]);
    if (digestOf(bytes) !== version.hash)
      throw new GatehouseError(
        "GATEHOUSE_CONFIG_CONFLICT",
        `version ${version.version} in etcd does not match its hash`,
      );
    return JSON.parse(bytes.toString("utf8")) as ConfigDocument;
  }

  /**
   * Makes `document` the version after `basedOn` (none: the prefix must be empty, as when
   * the first node seeds it, and the version is `seedVersion`). Throws a GatehouseError
   * GATEHOUSE_CONFIG_CONFLICT when `current` moved since.
   */
  async write(
    document: ConfigDocument,
    record: Omit<StoredVersion, "version" | "hash" | "writeId" | "chunks">,
    basedOn: CurrentVersion | undefined,
    seedVersion = 1,
  ): Promise<CurrentVersion> {
    const bytes = Buffer.from(JSON.stringify(document));
    const writeId = randomBytes(6).toString("hex");
    const version = basedOn ? basedOn.version + 1 : seedVersion;
    const chunks = Math.max(1, Math.ceil(bytes.length / chunkBytes));
    const base = `${this.#prefix}versions/${version}/`;
    const stored: StoredVersion = { version, hash: digestOf(bytes), writeId, chunks, ...record };
    const text = JSON.stringify(stored);
    await unavailableOnError(() =>
      Promise.all(
        Array.from({ length: chunks }, (_, i) =>
          this.#client
            .put(`${base}chunks/${writeId}/${i}`)
            .value(bytes.subarray(i * chunkBytes, (i + 1) * chunkBytes)),
        ),
      ),
    );
    const old = version - this.#keep;
    const txn = basedOn
      ? this.#client.if(this.#current, "Mod", "==", basedOn.revision)
      : this.#client.if(this.#current, "Create", "==", 0);
    const puts = [
      this.#client.put(this.#current).value(text),
      this.#client.put(`${base}meta`).value(text),
    ];
    const prune = old >= 1 ? [this.#client.delete().prefix(`${this.#prefix}versions/${old}/`)] : [];
    // Sent: if etcd does not answer now, it may have committed it all the same.
    const response = await txn
      .then(...puts, ...prune)
      .commit()
      .catch((error: Error) => {
        throw new StoreOutcomeUnknownError(error.message, writeId, version);
      });
    if (!response.succeeded) {
      // Ours are the only chunks under this write id: nobody else can be reading them.
      await this.#client
        .delete()
        .prefix(`${base}chunks/${writeId}/`)
        .catch(() => {});
      throw new GatehouseError(
        "GATEHOUSE_CONFIG_CONFLICT",
        basedOn
          ? `version ${basedOn.version} is no longer current in etcd (another node changed the config first): fetch the config and retry`
          : "the etcd prefix was seeded by another node first",
      );
    }
    return { ...stored, revision: Number(response.header.revision) };
  }

  /** Seeds an empty prefix with `document` as `version`; if another node seeded first, its version. */
  async seed(
    document: ConfigDocument,
    record: Omit<StoredVersion, "version" | "hash" | "writeId" | "chunks">,
    version = 1,
  ): Promise<{ current: CurrentVersion; seeded: boolean }> {
    try {
      return { current: await this.write(document, record, undefined, version), seeded: true };
    } catch (error) {
      const current =
        isGatehouseError(error, "GATEHOUSE_CONFIG_CONFLICT") && (await this.readCurrent());
      if (!current) throw error;
      return { current, seeded: false };
    }
  }

  /**
   * ONE watch on `current`, whatever else changes under the prefix (etcd's CPU grows with
   * watchers). etcd3's watcher resumes from the last revision it saw when it reconnects.
   */
  watch(handlers: {
    change(current: CurrentVersion): void;
    /** `current` holds no version record (a hand-written value). */
    malformed(error: MalformedVersionError): void;
    /** `current` was deleted (by hand: Gatehouse never deletes it). */
    deleted(): void;
    connected(): void;
    /** The connection broke; the watcher reconnects by itself. */
    disconnected(error: Error): void;
    /** etcd cancelled the watch (e.g. its revision was compacted): it is over, watch again. */
    cancelled(error: Error): void;
  }) {
    const watcher = this.#client.watch().key(this.#current).watcher();
    // Thrown from here, an error would be rethrown by etcd3 outside any catch: the process exits.
    watcher.on("put", (kv: IKeyValue) => {
      let current: CurrentVersion;
      try {
        current = parseCurrent(kv);
      } catch (error) {
        return handlers.malformed(error as MalformedVersionError);
      }
      handlers.change(current);
    });
    watcher.on("delete", () => handlers.deleted());
    watcher.on("connected", () => handlers.connected());
    watcher.on("disconnected", (error: Error) => handlers.disconnected(error));
    watcher.on("error", (error: Error) => handlers.cancelled(error));
    return watcher;
  }

  close(): void {
    this.#client.close();
  }
}

function digestOf(bytes: Buffer): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 16);
}

function parseCurrent(kv: IKeyValue): CurrentVersion {
  const revision = Number(kv.mod_revision);
  let stored: StoredVersion;
  try {
    stored = JSON.parse(kv.value.toString("utf8")) as StoredVersion;
  } catch (error) {
    throw new MalformedVersionError(revision, `current is not JSON: ${(error as Error).message}`);
  }
  const { version, hash, writeId, chunks } = stored ?? {};
  const record = [version, chunks].every(Number.isInteger) && [hash, writeId].every(isString);
  if (!record) throw new MalformedVersionError(revision, "current is not a version record");
  return { ...stored, revision };
}

const isString = (value: unknown) => typeof value === "string";

async function unavailableOnError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isGatehouseError(error, "GATEHOUSE_CONFIG_CONFLICT")) throw error;
    throw new StoreUnavailableError((error as Error).message);
  }
}

/**
 * The etcd3 client's options: each call bounded by `timeout`; a call that fails is tried
 * once on each other endpoint, no more (etcd3's default retries a hung etcd three more
 * times, four timeouts in all); no circuit breaker (it would refuse calls for seconds after
 * etcd is back); watch reconnects back off from 100 ms to at most 1 s, so a node catches
 * up soon after etcd returns; a keepalive ping every 10 s (etcd refuses more often than
 * every 5 s) notices an etcd that hangs without closing the watch's connection.
 */
export function etcdClientOptions(settings: EtcdConnection): IOptions {
  const { endpoints, auth, tls, timeout } = settings;
  const read = (file: string | undefined) => (file ? readFileSync(file) : undefined);
  const secure = tls || endpoints.some((endpoint) => endpoint.startsWith("https:"));
  type Policy = NonNullable<NonNullable<IOptions["faultHandling"]>["global"]>;
  type Call = (context: { signal: AbortSignal; attempt: number }) => unknown;
  const signal = new AbortController().signal;
  const direct = { execute: async (fn: Call) => fn({ signal, attempt: 0 }) } as unknown as Policy;
  const eachEndpoint = {
    async execute(fn: Call) {
      for (let attempt = 0; ; attempt++) {
        try {
          return await fn({ signal, attempt });
        } catch (error) {
          if (attempt + 1 >= endpoints.length || !isRecoverableError(error as Error)) throw error;
        }
      }
    },
  } as unknown as Policy;
  return {
    hosts: endpoints.map((endpoint) => endpoint.replace(/\/$/, "")),
    ...(auth && { auth: { username: auth.username, password: auth.password } }),
    ...(secure && {
      credentials: {
        rootCertificate: read(tls?.ca) as Buffer,
        ...(tls?.key && { privateKey: read(tls.key) }),
        ...(tls?.cert && { certChain: read(tls.cert) }),
      },
    }),
    grpcOptions: { "grpc.keepalive_time_ms": 10_000, "grpc.keepalive_timeout_ms": timeout },
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + timeout }),
    faultHandling: { host: () => direct, global: eachEndpoint, watchBackoff: backoff(100) },
  };
}

function backoff(ms: number): { duration: number; next(): ReturnType<typeof backoff> } {
  return { duration: ms, next: () => backoff(Math.min(ms * 2, 1000)) };
}
