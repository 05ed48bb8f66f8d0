/**
 * @module runtime/control-plane
 * Every config change comes through one door, `submit`, and runs one at a time, whatever
 * sent it (the file watcher, SIGHUP, the admin API, a rollback, the etcd follower, and a
 * discovery source's targets, which change one service and make no version, and the
 * certificate watcher's news): check
 * the precondition, validate with exactly the file's checks, write it to the config store
 * (memory, back into the file, or first to etcd, which numbers it), swap the runtime,
 * record the version, and write the attempt to the audit trail, accepted or refused.
 */
import { dirname } from "node:path";
import { setImmediate } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import { diffConfigs } from "../config/diff.ts";
import { type AuditedResource, resourceChangesAhead } from "../config/diff-ahead.ts";
import { type ConfigDocument, configOriginOf } from "../config/document.ts";
import { ConfigError, type ConfigProblem, formatProblem, parseConfig } from "../config/load.ts";
import { restoreRedacted } from "../config/redact-config.ts";
import type { GatehouseConfig } from "../config/schema/index.ts";
import { GatehouseError } from "../errors.ts";
import type { AuditEntry, AuditTrail } from "../observability/audit-log.ts";
import { configHash, nextRevision } from "../observability/config-revision.ts";
import type { Logger } from "../observability/logger.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";
import { FileConfigStore } from "../providers/file-store.ts";
import type { TargetListing } from "../upstream/service.ts";
import type {
  CertificatesMessage,
  ChangeMessage,
  ChangeOrigin,
  ChangeRequest,
  ChangeResult,
  ConfigMessage,
  Refusal,
  RefusalMessage,
  SharedVersion,
  SnapshotMessage,
  SnapshotResult,
  StoreMessage,
  TargetsMessage,
  VersionMessage,
} from "./config-change.ts";
import { ConfigHistory, type ConfigVersion } from "./config-history.ts";
import { type ConfigStore, MemoryConfigStore } from "./config-store.ts";
import { gatewayChecksFor } from "./validate.ts";

/** What the control plane needs from the gateway it drives. */
export interface ControlPlaneHost {
  reload(config: GatehouseConfig, options?: { version?: number }): Promise<void>;
  reloadRefused(problems?: readonly string[]): void;
  /** A valid config equal to the one serving; true when a refusal was standing. */
  reloadUnchanged(): boolean;
  /** Gives a service of the serving config these targets; false when it has no such service. */
  setTargets(service: string, targets: readonly TargetListing[]): boolean;
  /** Reads the listeners' certificate files again; false when one was refused. */
  reloadCertificates(): boolean;
  readonly revision: { version: number; hash: string; appliedAt: Date };
  readonly log: Logger;
  /** The plugins the gateway knows: changes are validated against these. */
  readonly plugins: PluginRegistry;
}

/** Applies config changes from every source, one at a time, and keeps their history. */
export class ControlPlane {
  readonly #gateway: ControlPlaneHost;
  readonly #audit: AuditTrail;
  readonly history: ConfigHistory;
  readonly #file: string | undefined;
  /** Where accepted changes are written before they serve: memory, the file, or etcd. */
  #store: ConfigStore;
  /** The last config file the file provider refused, while the previous config kept serving. */
  #lastRefusal: Refusal | undefined;
  /** Changes run one after another: each sees the version the previous one made. */
  #queue: Promise<unknown> = Promise.resolve();
  /** The last version applied from or written to the shared store (none yet at start). */
  #sharedVersion: number | undefined;

  constructor(gateway: ControlPlaneHost, startup: GatehouseConfig, audit: AuditTrail) {
    this.#gateway = gateway;
    this.#audit = audit;
    const origin = configOriginOf(startup);
    this.#file = origin?.file;
    const { configStore } = startup.gateway;
    this.#store =
      configStore.file && origin
        ? new FileConfigStore(origin.file, origin.overlay)
        : new MemoryConfigStore();
    this.history = new ConfigHistory(configStore.versions);
    const { version, hash, appliedAt } = gateway.revision;
    this.history.record({
      version,
      hash,
      appliedAt,
      source: "start",
      actor: "startup",
      document: origin?.document ?? {},
    });
  }

  get log(): Logger {
    return this.#gateway.log;
  }

  get revision() {
    return this.#gateway.revision;
  }

  /** Admin changes and rollbacks: a ChangeResult, or a GatehouseError when refused. */
  submit(message: ChangeMessage): Promise<ChangeResult>;
  /** The config file's snapshots (watcher, SIGHUP): how the attempt ended. */
  submit(message: SnapshotMessage): Promise<SnapshotResult>;
  /** etcd's versions: false when already applied here; rejects when it does not validate. */
  submit(message: VersionMessage): Promise<boolean>;
  /** A service's discovered targets: false when the serving config has no such service. */
  submit(message: TargetsMessage): Promise<boolean>;
  /** The certificate files changed: true when every certificate reloaded. */
  submit(message: CertificatesMessage): Promise<boolean>;
  submit(message: RefusalMessage | StoreMessage): Promise<void>;
  /**
   * The one door: every source's message waits for the ones before it, so each sees the
   * version the previous one made.
   */
  submit(message: ConfigMessage): Promise<unknown> {
    return this.#enqueue(() => this.#handle(message));
  }

  async #handle(message: ConfigMessage): Promise<unknown> {
    switch (message.kind) {
      case "targets":
        return this.#gateway.setTargets(message.service, message.targets);
      case "certificates":
        return this.#gateway.reloadCertificates();
      case "change":
        return this.#change(message.request);
      case "snapshot":
        return this.#snapshot(message);
      case "version":
        return this.#version(message.version);
      case "refused":
        return this.#refuse(message.problems, message.origin);
      case "store":
        this.#store = message.store;
        return;
    }
  }

  /**
   * Applies a version read from the shared store, with its number, after validating it
   * exactly as the file is. One this node already applied (it wrote it, or a later one
   * serves) is skipped: resolves false. A version that does not validate is refused
   * (counted, audited, logged by the caller) and the last good config keeps serving.
   */
  async #version(shared: SharedVersion): Promise<boolean> {
    const known = this.#sharedVersion !== undefined && shared.version <= this.#sharedVersion;
    if (known && !shared.restart) return false;
    const origin: ChangeOrigin = { source: "etcd", actor: shared.actor };
    let config: GatehouseConfig;
    try {
      config = this.#validate(shared.document);
    } catch (error) {
      const problems = error instanceof GatehouseError ? error.problems : undefined;
      this.#refuse(problems ?? [(error as Error).message], origin);
      throw error;
    }
    const previous = this.history.current;
    const first = this.#sharedVersion === undefined || shared.restart === true;
    await this.#gateway.reload(config, { version: shared.version });
    this.#sharedVersion = shared.version;
    await setImmediate();
    const entry: ConfigVersion = {
      ...this.#gateway.revision,
      ...origin,
      ...(shared.rolledBackTo !== undefined && { rolledBackTo: shared.rolledBackTo }),
      document: shared.document,
    };
    this.history.record(entry, first);
    this.#accepted({ action: "config.sync", ...origin }, previous, entry);
    return true;
  }

  /**
   * Reads a snapshot of the config file when its turn comes and applies it, unless it
   * equals the config serving (then any refusal is over, here and at `/status`). One that
   * does not load or apply is refused, and the last good config keeps serving.
   */
  async #snapshot({ origin, read }: SnapshotMessage): Promise<SnapshotResult> {
    try {
      const config = await read();
      // In etcd mode the file only seeded an empty prefix: etcd holds the config now.
      if (config === undefined || this.#store.shared) return { result: "skipped" };
      const previous = this.history.current;
      const hash = configHash(config);
      // The file may hold what an admin change just wrote back and applied: nothing new.
      if (hash === this.#gateway.revision.hash) {
        const refused = this.#lastRefusal !== undefined;
        this.#lastRefusal = undefined;
        const endedRefusal = this.#gateway.reloadUnchanged() || refused;
        return { result: "unchanged", hash, endedRefusal };
      }
      this.#lastRefusal = undefined;
      const document = configOriginOf(config)?.document ?? {};
      // Hashing a large config is a stretch of the event loop: waiting requests go first.
      await setImmediate();
      await this.#gateway.reload(config);
      const applied = this.#gateway.revision;
      // Serving already: requests waiting on the event loop go before the bookkeeping (the
      // audit's diff of a 10,000-route config takes tens of milliseconds).
      await setImmediate();
      const version = this.#record(document, origin, applied);
      // A file reload's list of changes is usually the validation thread's to work out.
      const resources = await resourceChangesAhead(previous.document, document);
      this.#accepted({ action: "config.reload", ...origin }, previous, version, resources);
      return { result: "applied", version: applied.version, hash };
    } catch (error) {
      const problems =
        error instanceof ConfigError ? error.problems.map(formatProblem) : [String(error)];
      this.#refuse(problems, origin);
      return { result: "refused", problems };
    }
  }

  /** A source's config was refused: counted by the gateway, shown by the admin API, audited. */
  #refuse(problems: readonly string[], origin: ChangeOrigin): void {
    this.#gateway.reloadRefused(problems);
    this.#lastRefusal = {
      at: new Date(),
      source: origin.source,
      actor: origin.actor,
      problems: [...problems],
    };
    this.#audit.record({
      ...auditOf({ action: "config.reload", ...origin }),
      result: "rejected",
      version: this.history.current.version,
      problems: [...problems],
    });
  }

  /**
   * The last file reload that was refused, with its FILE:LINE:COL problems; cleared when a
   * later reload from the file succeeds or finds the config serving.
   */
  get lastRefusal(): Refusal | undefined {
    return this.#lastRefusal;
  }

  #enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(work);
    this.#queue = run.catch(() => {});
    return run;
  }

  async #change(request: ChangeRequest): Promise<ChangeResult> {
    const current = this.history.current;
    try {
      const refused = this.#store.refusedVersion;
      if (
        request.ifMatch !== undefined &&
        request.ifMatch !== current.version &&
        request.ifMatch !== refused
      )
        throw new GatehouseError(
          "GATEHOUSE_CONFIG_CONFLICT",
          `the change was based on version ${request.ifMatch}, but version ${current.version} is serving now: fetch it and retry`,
        );
      if (!this.#file)
        throw new GatehouseError(
          "GATEHOUSE_CONFIG_NOT_WRITABLE",
          "this gateway was started from a config made in code, not loaded from text: the admin API cannot change it",
        );
      const document = restoreRedacted(
        request.edit(structuredClone(current.document)),
        current.document,
      );
      if (!isDeepStrictEqual(document.gateway, current.document.gateway))
        throw new GatehouseError(
          "GATEHOUSE_CONFIG_INVALID",
          "the gateway: section is static: change it in the config file and restart",
          { problems: ["gateway: differs from the running config's"] },
        );
      const config = this.#validate(document);
      if (configHash(config) === current.hash) {
        this.#audit.record({ ...auditOf(request), result: "unchanged", version: current.version });
        return { result: "unchanged", version: current };
      }
      let version: ConfigVersion;
      // Written first (to etcd: compared against the version this change was based on).
      const shared = await this.#store.write(document, current, request);
      if (shared !== undefined) {
        // The store numbered it.
        try {
          await this.#gateway.reload(config, { version: shared });
        } catch (error) {
          throw this.#notAppliedHere(shared, error as Error);
        } finally {
          // etcd holds it as `shared` whatever happened here: its watch echo is known, and
          // the next change is based on it (else every change is a 409 until another node writes).
          this.#sharedVersion = shared;
          const { revision } = this.#gateway;
          version = this.#record(
            document,
            request,
            revision.version === shared
              ? revision
              : nextRevision(config, revision, undefined, shared),
          );
        }
      } else {
        await this.#gateway.reload(config);
        version = this.#record(document, request);
      }
      this.#accepted(request, current, version);
      return { result: "applied", version };
    } catch (error) {
      // Anything else is a bug (the store's failures are already refusals): a 500 all the same.
      const refused =
        error instanceof GatehouseError
          ? error
          : new GatehouseError("GATEHOUSE_INTERNAL", (error as Error).message);
      this.#audit.record({
        ...auditOf(request),
        result: "rejected",
        version: current.version,
        problems: refused.problems ?? [refused.message],
      });
      throw refused;
    }
  }

  /** A change etcd committed that this node failed to apply: logged, and answered as a 500. */
  #notAppliedHere(version: number, error: Error): GatehouseError {
    const message = `config version ${version} is written to etcd (every other node applies it), but applying it on this node failed: ${error.message}`;
    this.log.error({ configVersion: version, error: error.message }, message);
    return new GatehouseError("GATEHOUSE_INTERNAL", message);
  }

  /**
   * What a change to `document` would be refused for, applying nothing (none: it would
   * apply): the checks a change goes through, each problem with its path in the config.
   */
  problemsOf(document: ConfigDocument): ConfigProblem[] {
    const problems: ConfigProblem[] = [];
    if (!isDeepStrictEqual(document.gateway, this.history.current.document.gateway))
      problems.push({
        file: "admin",
        line: 1,
        col: 1,
        path: ["gateway"],
        message:
          "gateway: the gateway: section is static: change it in the config file and restart",
      });
    try {
      this.#parse(document);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
    return problems;
  }

  /** The same checks as the config file's; problems are named by their place in the config. */
  #validate(document: ConfigDocument): GatehouseConfig {
    try {
      return this.#parse(document);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      const problems = error.problems.map((problem) => problem.message);
      throw new GatehouseError("GATEHOUSE_CONFIG_INVALID", problems.join("; "), { problems });
    }
  }

  #parse(document: ConfigDocument): GatehouseConfig {
    return parseConfig(JSON.stringify(document), "admin", {
      ...gatewayChecksFor(this.#gateway.plugins),
      baseDir: this.#file ? dirname(this.#file) : process.cwd(),
    });
  }

  /** Where accepted changes are written: the file provider hears of its write-backs. */
  get store(): ConfigStore {
    return this.#store;
  }

  #record(
    document: ConfigDocument,
    origin: ChangeOrigin & { rolledBackTo?: number },
    { version, hash, appliedAt } = this.#gateway.revision,
  ) {
    const entry: ConfigVersion = {
      version,
      hash,
      appliedAt,
      source: origin.source,
      actor: origin.actor,
      ...(origin.rolledBackTo !== undefined && { rolledBackTo: origin.rolledBackTo }),
      document,
    };
    this.history.record(entry);
    return entry;
  }

  /** Audits an applied change, with the resources it touched. */
  #accepted(
    request: ChangeOrigin & { action: string },
    previous: ConfigVersion,
    version: ConfigVersion,
    /** The resources changed, when worked out elsewhere (config/diff-ahead). */
    resources?: AuditedResource[],
  ): void {
    const changed =
      resources ??
      diffConfigs(previous.document, version.document).resources.map(({ kind, name, change }) => ({
        kind,
        name,
        change,
      }));
    this.#audit.record({
      ...auditOf(request),
      result: "accepted",
      version: version.version,
      previousVersion: previous.version,
      hash: version.hash,
      resources: changed,
    });
  }
}

function auditOf(request: ChangeOrigin & { action: string }): Omit<AuditEntry, "result"> {
  const { action, source, actor, remoteAddress, requestId } = request;
  return {
    action,
    source: source === "rollback" ? "admin" : source,
    actor,
    ...(remoteAddress && { remoteAddress }),
    ...(requestId && { requestId }),
  };
}
