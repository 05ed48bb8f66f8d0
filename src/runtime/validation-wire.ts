/**
 * @module runtime/validation-wire
 * The messages between the main thread and the validation thread, and the form a checked
 * config crosses in: JSON text when the config is plain JSON data (it nearly always is),
 * because `JSON.parse` on the receiving side costs a third to a half of what a structured
 * clone's deserialisation does, and the receiving side is the thread that serves requests.
 */
import type { CheckedConfig } from "../config/checked-config.ts";
import type { ConfigProblem, OverlayOption } from "../config/load.ts";

/** Validate this file (and overlay) with this environment. */
export interface ValidationRequest {
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
  /** Refused, with the located problems. */
  | { id: number; problems: ConfigProblem[] }
  /** Failed for another reason (a bug, or a plugin's check that threw). */
  | { id: number; failure: string };

/**
 * `checked` as JSON text when that loses nothing a structured clone keeps (no `undefined`
 * in an array, no non-finite number, no object other than plain objects and arrays);
 * otherwise as itself. A property whose value is `undefined` is dropped either way for
 * what matters: the config hash is taken over `JSON.stringify` of the config.
 */
export function encodeChecked(checked: CheckedConfig): EncodedChecked {
  try {
    return { json: JSON.stringify(checked, jsonOnly) };
  } catch (error) {
    if (error !== notJson) throw error;
    return { clone: checked };
  }
}

/** The checked config an encoding carries. */
export function decodeChecked(encoded: EncodedChecked): CheckedConfig {
  return "json" in encoded ? (JSON.parse(encoded.json) as CheckedConfig) : encoded.clone;
}

const notJson = new Error("not plain JSON data");

function jsonOnly(this: unknown, key: string, value: unknown): unknown {
  // `value` is after toJSON (a Date is a string by now): judge what the holder has.
  const original = (this as Record<string, unknown>)[key];
  switch (typeof original) {
    case "undefined":
      if (Array.isArray(this)) throw notJson;
      return value;
    case "number":
      if (!Number.isFinite(original)) throw notJson;
      return value;
    case "bigint":
    case "function":
    case "symbol":
      throw notJson;
    case "object": {
      if (original === null || Array.isArray(original)) return value;
      const prototype = Object.getPrototypeOf(original);
      if (prototype !== Object.prototype && prototype !== null) throw notJson;
      return value;
    }
    default:
      return value;
  }
}
