/**
 * @module observability/audit-log
 * The audit trail (`gateway.audit`): one record per config change attempt, accepted,
 * rejected or a no-op, with who, from where, when, the versions and the resources it
 * touched. Appended as JSON lines to its own file, or to the process log when no file is
 * set; never with a secret in it.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { GatehouseConfig } from "../config/schema/index.ts";
import { processSecrets } from "../config/secret-values.ts";
import type { Logger } from "./logger.ts";

export type AuditSettings = GatehouseConfig["gateway"]["audit"];

/** How the attempt ended: applied, refused with problems, or equal to what was serving. */
export type AuditResult = "accepted" | "rejected" | "unchanged";

/**
 * Where the attempt came from: the config at start, the file provider, the admin API, or
 * the etcd config store (a version another node wrote).
 */
export type AuditSource = "start" | "file" | "admin" | "etcd";

/** One resource an accepted change created, updated or deleted. */
export interface AuditResourceChange {
  kind: "service" | "route" | "consumer" | "plugin";
  name: string;
  change: "created" | "updated" | "deleted";
}

/** What the caller knows about one change attempt. */
export interface AuditEntry {
  /** What was attempted: `config.reload`, `config.replace`, `config.rollback`, `route.create`, … */
  action: string;
  result: AuditResult;
  source: AuditSource;
  /** Who: an admin key id, `anonymous-loopback`, `file-watch`, `SIGHUP`. */
  actor: string;
  remoteAddress?: string;
  requestId?: string;
  /** The version applied (accepted), or the one still serving (rejected, unchanged). */
  version?: number;
  previousVersion?: number;
  hash?: string;
  resources?: AuditResourceChange[];
  /** Why it was rejected, one problem a line (FILE:LINE:COL or a field path). */
  problems?: string[];
  /** The HTTP status the admin API answered with, when the attempt came through it. */
  status?: number;
}

/** One line of the audit trail. */
export interface AuditRecord extends AuditEntry {
  /** When it was recorded, ISO 8601 in UTC. */
  time: string;
}

// Created owner-only: the trail says who changed what, which is nobody else's business.
const fileMode = 0o600;

/** Without a file, the records `read` returns: the last this many since the process started. */
export const auditRecordsInMemory = 1000;

/** Records config change attempts; see the module comment for where they go. */
export class AuditTrail {
  readonly #path: string | undefined;
  readonly #log: Logger;
  readonly #clock: () => Date;
  /** Without a file: the latest records, oldest first. */
  readonly #recent: AuditRecord[] = [];

  constructor(settings: AuditSettings, log: Logger, clock: () => Date = () => new Date()) {
    this.#path = settings.path;
    this.#log = log;
    this.#clock = clock;
  }

  /**
   * Writes one record before returning. A failure to write is logged (with the record, so
   * it is not lost) and never thrown: a change must not fail because its audit line did.
   */
  record(entry: AuditEntry): void {
    // Secrets are taken out of the whole record: a problem message may quote a value.
    const record = processSecrets.redactDeep({ time: this.#clock().toISOString(), ...entry });
    if (this.#path === undefined) {
      this.#recent.push(record);
      if (this.#recent.length > auditRecordsInMemory) this.#recent.shift();
      this.#log.info({ audit: record }, `config change ${record.result}: ${describe(record)}`);
      return;
    }
    try {
      appendLine(this.#path, `${JSON.stringify(record)}\n`);
    } catch (error) {
      this.#log.error(
        { audit: record, auditPath: this.#path, error: (error as Error).message },
        `cannot append to the audit log ${this.#path}; the record is in this line instead`,
      );
    }
  }

  /** Where `read` finds the trail: the file, or (without one) the records kept in memory. */
  get kept(): "file" | "memory" {
    return this.#path === undefined ? "memory" : "file";
  }

  /**
   * The trail, oldest first: every record of the file (a line that is not a record is
   * skipped; no file yet is no record), or without one the last auditRecordsInMemory.
   */
  async read(): Promise<AuditRecord[]> {
    if (this.#path === undefined) return [...this.#recent];
    let text: string;
    try {
      text = await readFile(this.#path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const records: AuditRecord[] = [];
    for (const line of text.split("\n")) {
      if (line === "") continue;
      try {
        const record = JSON.parse(line) as AuditRecord;
        if (typeof record?.time === "string") records.push(record);
      } catch {
        // A line cut short (a crash mid-write) is not a record.
      }
    }
    return records;
  }

  /** Nothing is held open between records; kept so callers can shut it down like the rest. */
  async close(): Promise<void> {}
}

function describe(record: AuditRecord): string {
  return `${record.action} by ${record.actor}`;
}

/**
 * Opens, appends, closes. Changes are rare, so the file is opened per record: a file
 * moved away by log rotation is created afresh, and a failure is retried next time.
 */
function appendLine(path: string, line: string): void {
  const fd = openSync(path, "a", fileMode);
  try {
    const bytes = Buffer.from(line);
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
  } finally {
    closeSync(fd);
  }
}
