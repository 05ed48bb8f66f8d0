/**
 * @module runtime/validation-wire
 * The messages between the main thread and the validation thread, and the form a checked
 * config crosses in: JSON text when the config is plain JSON data (it nearly always is),
 * because `JSON.parse` on the receiving side costs a third to a half of what a structured
 * clone's deserialisation does, and the receiving side is the thread that serves requests.
 */
import type { CheckedConfig } from "../config/checked-config.ts";
import type { AuditedResource } from "../config/diff-ahead.ts";
import type { ConfigProblem, OverlayOption } from "../config/load.ts";

/**
 * Validate this file (and overlay) with this environment; or work out what the document
 * of answer `changesTo` changed from that of answer `changesFrom` (config/diff-ahead).
 */
export type ValidationRequest =
  | FileValidation
  | { id: number; changesFrom: number; changesTo: number };

/** Validate this file (and overlay) with this environment. */
export interface FileValidation {
  id: number;
  file: string;
  overlay: OverlayOption | undefined;
  env: Record<string, string | undefined>;
}

/** A checked config as sent: JSON text, or the object itself (structured clone). */
export type EncodedChecked = { json: string } | { clone: CheckedConfig };

/** The thread's answers: ready once loaded, then one per request. */
export type ValidationAnswer =
  | { ready: true }
  /**
   * Valid; `hash` is the config's (observability/config-revision), `plugins` names every
   * plugin the thread validated against.
   */
  | { id: number; checked: EncodedChecked; hash: string; plugins: string[] }
  /**
   * The changes asked for; null when the thread no longer holds both documents, or one did
   * not cross as exact JSON (see exactJson): then the asker diffs its own.
   */
  | { id: number; resources: AuditedResource[] | null }
  /** Refused, with the located problems. */
  | { id: number; problems: ConfigProblem[] }
  /** Failed for another reason (a bug, or a plugin's check that threw). */
  | { id: number; failure: string };

/**
 * `checked` as JSON text when that loses nothing a structured clone keeps (no `undefined`
 * in an array, no non-finite number, no object other than plain objects and arrays);
 * otherwise as itself. A property whose value is `undefined` is dropped either way for
 * what matters: the config hash is taken over `JSON.stringify` of the config, which
 * `configJson` returns too (the text sent holds it), so the hash costs no second one.
 */
export function encodeChecked(checked: CheckedConfig): {
  checked: EncodedChecked;
  configJson?: string;
} {
  // Judged by a walk: a replacer function would run for every key and cost three times more.
  if (!plainJson(checked)) return { checked: { clone: checked } };
  const { config, ...rest } = checked;
  const configJson = JSON.stringify(config);
  const restJson = JSON.stringify(rest);
  // The same text as JSON.stringify(checked): `config` is its first key.
  const json =
    restJson === "{}" ? `{"config":${configJson}}` : `{"config":${configJson},${restJson.slice(1)}`;
  return { checked: { json }, configJson };
}

/** The checked config an encoding carries. */
export function decodeChecked(encoded: EncodedChecked): CheckedConfig {
  return "json" in encoded ? (JSON.parse(encoded.json) as CheckedConfig) : encoded.clone;
}

/** Whether JSON text of `value` gives it back as a structured clone would (see encodeChecked). */
export function plainJson(value: unknown): boolean {
  return jsonWalk(value, false);
}

/**
 * Whether JSON text of `value` decodes to a value equal to it key for key (no property
 * whose value is `undefined`, which JSON drops, and no `-0`, which it writes as `0`): a
 * diff of the decoded value then says what a diff of `value` says.
 */
export function exactJson(value: unknown): boolean {
  return jsonWalk(value, true);
}

function jsonWalk(value: unknown, exact: boolean): boolean {
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value) && !(exact && Object.is(value, -0));
    case "object": {
      if (value === null) return true;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++)
          if (value[i] === undefined || !jsonWalk(value[i], exact)) return false;
        return true;
      }
      const prototype = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) return false;
      for (const key in value) {
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined ? exact : !jsonWalk(item, exact)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}
