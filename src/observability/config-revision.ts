/**
 * @module observability/config-revision
 * Which config the gateway serves and how its last reload went: one record the gateway
 * keeps and `/status`, the metrics and the process log all read, so they never disagree
 * on the version or the hash.
 */
import { createHash } from "node:crypto";
import { configOriginOf } from "../config/document.ts";
import type { GatehouseConfig } from "../config/schema/index.ts";

/** One applied config. */
export interface ConfigRevision {
  /** 1 for the config the process started with, then one more per successful reload. */
  version: number;
  /** A short digest of the config's content; equal configs have equal hashes. */
  hash: string;
  appliedAt: Date;
}

/**
 * The last reload attempt (none before the first): `success` applied a config, `failure`
 * refused one, `unchanged` found a valid config equal to the one serving (which ends a
 * refusal before it: a bad edit undone).
 */
export interface ReloadOutcome {
  at: Date;
  result: "success" | "unchanged" | "failure";
  /** Why a reload was refused: the config's problems, one a line. */
  problems?: readonly string[];
}

/**
 * The revision a config makes when it follows `previous` (none at start). `version` is
 * given when a shared store numbers the versions (etcd: the same number on every node).
 */
export function nextRevision(
  config: GatehouseConfig,
  previous: ConfigRevision | undefined,
  now = new Date(),
  version = (previous?.version ?? 0) + 1,
): ConfigRevision {
  return { version, hash: configHash(config), appliedAt: now };
}

const hashes = new WeakMap<GatehouseConfig, string>();

/**
 * Records the hash another thread took of this config before it crossed (the same text:
 * the crossing keeps key order and drops what `JSON.stringify` drops), so this thread does
 * not take it again.
 */
export function rememberConfigHash(config: GatehouseConfig, hash: string): void {
  hashes.set(config, hash);
}

/**
 * A short, stable digest of a validated config (key order as written, values resolved),
 * and of the files it depends on besides its own text (a plugin's `.proto`s), whose
 * content is not in it. Kept per config object: a reload asks for it three times (file
 * provider, control plane, revision), and for 10,000 routes each costs tens of
 * milliseconds. Configs are not changed once validated. `json`, when given, must be
 * `JSON.stringify(config)`.
 */
export function configHash(config: GatehouseConfig, json?: string): string {
  let hash = hashes.get(config);
  if (hash === undefined) {
    // `json`: the caller's `JSON.stringify(config)`, when it has it (the validation thread).
    const digest = createHash("sha256").update(json ?? JSON.stringify(config));
    const dependsOn = configOriginOf(config)?.dependsOn;
    if (dependsOn) digest.update(`\n${dependsOn.digest}`);
    hash = digest.digest("hex").slice(0, 16);
    hashes.set(config, hash);
  }
  return hash;
}
