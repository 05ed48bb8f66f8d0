/**
 * @module providers/file
 * The file provider: the config file as a source of snapshots. A change seen by the
 * watcher and a SIGHUP take the same path: read → skip if unchanged → validate exactly as
 * at start → apply the dynamic part, or refuse the file with its FILE:LINE:COL problems
 * while the last good config keeps serving.
 */
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import { readFile } from "node:fs/promises";
import { setImmediate } from "node:timers/promises";
import { configOriginOf } from "../config/document.ts";
import type { OverlayOption } from "../config/load.ts";
import type { GatehouseConfig } from "../config/schema/index.ts";
import { referencedFilesOf } from "../config/secret-values.ts";
import { loadPluginModules } from "../pipeline/modules.ts";
import type { PluginRegistry } from "../pipeline/registry.ts";
import { processPluginRegistry } from "../plugins/index.ts";
import { buildRouteTableAhead } from "../runtime/compile.ts";
import type { ChangeOrigin, SnapshotResult } from "../runtime/config-change.ts";
import type { ControlPlane } from "../runtime/control-plane.ts";
import { validateConfigFile } from "../runtime/validate.ts";
import { ValidationThread, ValidationThreadEnded } from "../runtime/validation-thread.ts";
import { type FileWatch, watchFile } from "./file-watch.ts";

/** What asked for a reload: the watcher saw a change, or the operator sent SIGHUP. */
export type ReloadReason = "watch" | "SIGHUP";

/** How one reload attempt ended; emitted as the provider's `reload` event. */
export type ReloadEvent = { reason: ReloadReason } & (
  | { result: "applied"; version: number; hash: string }
  /** Same bytes as last read, or a config equal to the one serving: nothing to do. */
  | { result: "unchanged" }
  | { result: "refused"; problems: string[] }
  /** The watcher found no file (mid-rename, or deleted): wait for it to come back. */
  | { result: "missing" }
);

/** What the file provider needs from the control plane it submits its snapshots to. */
export type FileProviderHost = Pick<ControlPlane, "submit" | "store" | "log">;

export interface FileProviderOptions {
  file: string;
  /**
   * The environment's overlay, merged over `file`: watched too, a change to either reloads,
   * as does a change to a file the config reads through `${file:…}` or a plugin reads (a
   * `.proto`).
   */
  overlay?: OverlayOption;
  /** Where snapshots of the file go: the control plane. */
  control: FileProviderHost;
  /** The config the gateway started with: its `gateway:` part is the one in effect. */
  startup: GatehouseConfig;
  /**
   * Reads and validates the file. By default in the validation thread (runtime/validation-thread)
   * once it has started; until then a small config on this thread, while a large one waits
   * for the thread. A test may swap it.
   */
  load?: (file: string) => Promise<GatehouseConfig>;
  /** The gateway's plugins, which the file's plugin entries are checked against. */
  plugins?: PluginRegistry;
}

/** Reloads the gateway from its config file, on change (`watch`) or on demand (`reload`). */
export class FileProvider extends EventEmitter<{ reload: [ReloadEvent] }> {
  readonly #file: string;
  readonly #overlay: OverlayOption | undefined;
  readonly #control: FileProviderHost;
  readonly #startup: GatehouseConfig;
  readonly #load: (file: string) => Promise<GatehouseConfig>;
  readonly #plugins: PluginRegistry;
  /** Where reloads are parsed and validated, off the thread that serves requests. */
  readonly validationThread = new ValidationThread();
  /** Digest of the bytes last read, so touching or re-saving the file costs no validation. */
  #lastText: string | undefined;
  /** Each file's part of that digest, in reading order, so one file's part can be replaced. */
  #lastParts = new Map<string, string>();
  /** One watch per file the config is read from, keyed by path; empty when not watching. */
  #watches = new Map<string, FileWatch>();
  /**
   * The files the serving config depends on besides its own (from the last good load): the
   * ones its `${file:…}` references read and the ones its plugins read.
   */
  #referenced: string[];
  /** A watch reload is queued and has not read the files yet: a change now is covered by it. */
  #watchQueued = false;
  /** How many characters the config's files held at the last read. */
  #lastSize = 0;

  constructor(options: FileProviderOptions) {
    super();
    this.#file = options.file;
    this.#overlay = options.overlay;
    this.#control = options.control;
    this.#startup = options.startup;
    this.#referenced = filesReadBy(options.startup);
    this.#plugins = options.plugins ?? processPluginRegistry();
    this.#load = options.load ?? ((file) => this.#validate(file));
    options.control.store.onWrite?.((file, text) => this.#wroteBack(file, text));
  }

  /**
   * An admin change wrote `text` into `file` and is being applied: reading that back is no
   * change. (Only after a read: before one, there is no digest to compare with.)
   */
  #wroteBack(file: string, text: string): void {
    if (!this.#lastParts.has(file)) return;
    this.#lastParts.set(file, partOf(text));
    this.#lastText = digestOf(this.#lastParts.values());
  }

  /** Starts watching if `gateway.reload.watch` is on; changes are applied after the debounce. */
  watch(): void {
    // In etcd mode the file's dynamic part only seeds an empty prefix: etcd is the source.
    if (this.#startup.gateway.configStore.etcd) return;
    if (!this.#startup.gateway.reload.watch || this.#watches.size > 0) return;
    this.#syncWatches();
    // Changes will come: have the thread loaded (it takes a second or two) before they do.
    this.validationThread.start();
  }

  /**
   * Validates the file in the validation thread; here while the thread starts (a small
   * config), or when it could not start or ended mid-answer (then it is started again for
   * the next reload). The thread knows the built-in plugins and the config's plugin
   * modules; a gateway with plugins registered in code validates here, against them.
   */
  async #validate(file: string): Promise<GatehouseConfig> {
    const here = () => validateConfigFile(file, undefined, this.#overlay, this.#plugins);
    const thread = this.validationThread;
    // A large config waits the second or so a starting thread takes (which holds no
    // request) rather than be validated here, which would hold every request as long: the
    // first look after `watch` comes while the thread starts. A small one is done here at once.
    if (!thread.ready && this.#lastSize > validatedHereUpTo) await thread.whenReady();
    if (!thread.ready) {
      thread.start();
      return here();
    }
    let validated: Awaited<ReturnType<ValidationThread["validate"]>>;
    try {
      validated = await thread.validate(file, this.#overlay);
    } catch (error) {
      if (!(error instanceof ValidationThreadEnded)) throw error;
      this.#control.log.warn(
        { config: file, error: error.message },
        `${error.message}; validating ${file} on the main thread, and starting the thread again`,
      );
      thread.start();
      return here();
    }
    const known = new Set(validated.plugins);
    if (this.#plugins.names().some((name) => !known.has(name))) return here();
    // The thread loaded the config's plugin modules into its registry: compiling needs them here.
    const { config } = validated;
    const modules = config.gateway.pluginModules ?? [];
    if (modules.length > 0) {
      const problems = await loadPluginModules(modules, file, this.#plugins);
      if (problems.length > 0) return here();
    }
    // Taking the config in held the event loop, and so will compiling it: the route table
    // (about half of compiling) is built in a turn of its own, after waiting requests.
    await setImmediate();
    buildRouteTableAhead(config);
    return config;
  }

  /** Watches exactly the config's files now: the base, its overlay, the files it reads. */
  #syncWatches(): void {
    const { debounce } = this.#startup.gateway.reload;
    const wanted = new Set([...this.#files(), ...this.#referenced]);
    for (const [file, watch] of this.#watches) {
      if (wanted.has(file)) continue;
      watch.close();
      this.#watches.delete(file);
    }
    // A change to any file re-reads them all; the digest of them all skips a no-op.
    for (const file of wanted) {
      if (this.#watches.has(file)) continue;
      this.#watches.set(
        file,
        watchFile(file, {
          debounce,
          onChange: () => this.#changed(),
          onError: (error) =>
            this.#control.log.warn(
              { config: file, error: error.message },
              `cannot watch for changes to ${file} (retrying); SIGHUP still reloads`,
            ),
        }),
      );
      this.#control.log.debug({ config: file, debounce }, `watching ${file} for changes`);
    }
  }

  /**
   * Re-reads the file and applies it if it changed and is valid; resolves with the outcome.
   * The snapshot goes to the control plane's queue, and is read when its turn comes.
   */
  async reload(reason: ReloadReason): Promise<ReloadEvent> {
    let skipped: ReloadEvent | undefined;
    let config: GatehouseConfig | undefined;
    const read = async () => {
      if (reason === "watch") this.#watchQueued = false;
      const snapshot = await this.#read(reason);
      if ("result" in snapshot) skipped = snapshot;
      else config = snapshot;
      return config;
    };
    const result = await this.#control.submit({
      kind: "snapshot",
      origin: originOf(reason),
      read,
    });
    const event = this.#report(reason, result, config);
    this.emit("reload", skipped ?? event);
    return skipped ?? event;
  }

  /** A watched file may have changed; with an overlay both watches can say so at once. */
  #changed(): void {
    if (this.#watchQueued) return;
    this.#watchQueued = true;
    void this.reload("watch");
  }

  /** Stops watching; a reload under way still finishes. */
  close(): void {
    for (const watch of this.#watches.values()) watch.close();
    this.#watches.clear();
    void this.validationThread.close();
  }

  /**
   * Reads the files: the config they hold, loaded and validated (a file that fails throws),
   * or the event that ends the attempt here (the same bytes, a file missing, etcd mode).
   */
  async #read(reason: ReloadReason): Promise<GatehouseConfig | ReloadEvent> {
    const log = this.#control.log;
    const file = this.#file;
    const { label, fields } = this.#describe(reason);
    if (this.#startup.gateway.configStore.etcd) {
      log.info(fields, `${label}: the config is in etcd; change it through the admin API`);
      return { reason, result: "unchanged" };
    }
    let digest: string | undefined;
    let parts = new Map<string, string>();
    try {
      parts = await this.#readParts();
      digest = digestOf(parts.values());
    } catch (error) {
      // Likely mid-rename: the next event brings it back. SIGHUP reports it, located, below.
      if (reason === "watch") {
        const missing = (error as { path?: string }).path ?? file;
        log.warn(fields, `${label}: ${missing} is missing; the running config keeps serving`);
        return { reason, result: "missing" };
      }
    }
    // The same bytes were already applied, or already refused and reported: once is enough.
    if (reason === "watch" && digest === this.#lastText) return { reason, result: "unchanged" };
    this.#lastText = digest;
    this.#lastParts = parts;
    let config: GatehouseConfig;
    try {
      // A file that fails validation throws: the control plane refuses it (as one that fails to apply).
      config = await this.#load(file);
    } finally {
      // The load reads the files again. Saved in between, it may have read other bytes than
      // the digest's: then the digest says nothing, and the next event must not be skipped.
      if (digest !== undefined && (await this.#digestNow()) !== digest) this.#lastText = undefined;
    }
    // Parsing and validating held the event loop; let waiting requests through before the
    // compile and swap hold it again (a large config is tens of milliseconds of each).
    await setImmediate();
    // Its references and plugins may name other files now: watch those from here on.
    this.#referenced = filesReadBy(config);
    if (this.#watches.size > 0) this.#syncWatches();
    return config;
  }

  /** Logs how a snapshot ended, and says so as a reload event. */
  #report(reason: ReloadReason, result: SnapshotResult, config?: GatehouseConfig): ReloadEvent {
    const log = this.#control.log;
    const file = this.#file;
    const { label, fields } = this.#describe(reason);
    if (result.result === "skipped") return { reason, result: "unchanged" };
    if (result.result === "refused") {
      log.error(
        { ...fields, problems: result.problems },
        `${label}: kept the running config; ${this.#file} has problems`,
      );
      return { reason, result: "refused", problems: result.problems };
    }
    if (result.result === "unchanged") {
      const { hash } = result;
      if (result.endedRefusal) {
        // A bad edit undone: the refusal the log reported is over, so the log says so.
        log.info(
          { ...fields, configHash: hash },
          `${label}: ${file} is valid again and unchanged from the config serving; the earlier problems are over, nothing to apply`,
        );
      } else {
        // SIGHUP may be expected to say something; a watcher's no-op is noise.
        const level = reason === "SIGHUP" ? "info" : "debug";
        log[level](
          { ...fields, configHash: hash },
          `${label}: ${file} unchanged, nothing to apply`,
        );
      }
      return { reason, result: "unchanged" };
    }
    const restartNeeded = config ? changedKeys(this.#startup.gateway, config.gateway) : [];
    if (restartNeeded.length > 0) {
      log.warn(
        { ...fields, changed: restartNeeded.map((key) => `gateway.${key}`) },
        `${label}: the gateway: section changed; it takes a restart, the rest is applied now`,
      );
    }
    const { version, hash } = result;
    log.info({ ...fields, configVersion: version, configHash: hash }, `${label}: reloaded ${file}`);
    return { reason, result: "applied", version, hash };
  }

  /** Each file's part of the digest: the config files (throws if one is missing), then the referenced ones. */
  async #readParts(): Promise<Map<string, string>> {
    const parts = new Map<string, string>();
    let size = 0;
    for (const name of this.#files()) {
      const text = await readFile(name, "utf8");
      size += text.length;
      parts.set(name, partOf(text));
    }
    this.#lastSize = size;
    // A referenced file that cannot be read is not "missing": the load refuses it, located.
    for (const name of this.#referenced) {
      const text = await readFile(name, "utf8").catch((error: NodeJS.ErrnoException) => ({
        failed: error.code ?? "unreadable",
      }));
      parts.set(name, typeof text === "string" ? partOf(text) : `!${text.failed}`);
    }
    return parts;
  }

  /** The digest of the files as they are now; undefined if one is missing. */
  async #digestNow(): Promise<string | undefined> {
    return this.#readParts().then(
      (parts) => digestOf(parts.values()),
      () => undefined,
    );
  }

  /** The files the config is read from: the base, then the overlay if there is one. */
  #files(): string[] {
    return this.#overlay ? [this.#file, this.#overlay.file] : [this.#file];
  }

  /** The log message prefix and fields every line about one reload carries. */
  #describe(reason: ReloadReason) {
    const label = reason === "SIGHUP" ? "SIGHUP" : "config file changed";
    const signal = reason === "SIGHUP" ? { signal: "SIGHUP" } : {};
    const overlay = this.#overlay && { overlay: this.#overlay.file };
    return { label, fields: { reason, config: this.#file, ...overlay, ...signal } };
  }
}

/** One file's part of the digest: its length (so the same bytes split differently between files differ) and hash. */
function partOf(text: string): string {
  return `${text.length}:${createHash("sha256").update(text).digest("hex")}`;
}

function digestOf(parts: Iterable<string>): string {
  return createHash("sha256")
    .update([...parts].join("\n"))
    .digest("hex");
}

/** The files `config` was read from besides its own: `${file:…}` references, then plugins' files. */
function filesReadBy(config: GatehouseConfig): string[] {
  const plugins = configOriginOf(config)?.dependsOn?.files ?? [];
  return [...new Set([...referencedFilesOf(config), ...plugins])];
}

/** Config text (characters) validated here rather than wait for a starting thread: ~500 routes. */
const validatedHereUpTo = 64 * 1024;

/** Who a reload is recorded as, in the config versions and the audit trail. */
function originOf(reason: ReloadReason): ChangeOrigin {
  return { source: "file", actor: reason === "SIGHUP" ? "SIGHUP" : "file-watch" };
}

/** The top-level keys of `gateway:` whose values differ between two configs. */
function changedKeys(before: GatehouseConfig["gateway"], after: GatehouseConfig["gateway"]) {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter(
    (key) =>
      JSON.stringify(before[key as keyof typeof before]) !==
      JSON.stringify(after[key as keyof typeof after]),
  );
}
