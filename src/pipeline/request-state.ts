/**
 * @module pipeline/request-state
 * Typed per-request state: a plugin creates its keys once, at module load, and reads and
 * writes the request's value with `ctx.get(key)` / `ctx.set(key, value)`. A key is a
 * slot number, so a request's state is an array indexed by slot (allocated at the first
 * `set`), not a map of strings, and its type travels with the key (no casts).
 */

declare const valueType: unique symbol;

/** A key to one value of per-request state, of type `T`; see createStateKey. */
export interface StateKey<T> {
  /** Names the value in messages (and for the deprecated `ctx.locals`). */
  readonly name: string;
  /** The value's index in a request's state. */
  readonly slot: number;
  /** Carries `T` for the type checker only. */
  readonly [valueType]?: T;
}

let slots = 0;
/** Each key by name, for reads through the deprecated `ctx.locals`. */
const keysByName = new Map<string, StateKey<unknown>>();

/**
 * Creates a key for one value of per-request state. Create keys once, at module level:
 * each key takes a slot for the process's life, and a plugin's `create` runs for every
 * route and on every reload. Name it after the plugin (`"rate-limit"`, `"my-plugin.user"`).
 *
 * ```ts
 * const userKey = createStateKey<User>("my-plugin.user");
 * // in one hook:  ctx.set(userKey, user);   in a later one:  ctx.get(userKey)?.id
 * ```
 */
export function createStateKey<T>(name: string): StateKey<T> {
  const key: StateKey<T> = Object.freeze({ name, slot: slots++ });
  keysByName.set(name, key);
  return key;
}

/** How many slots the keys created so far take: a request's state array is this long. */
export function stateSlots(): number {
  return slots;
}

/** The key created under `name` (the latest, if several were). */
export function stateKeyNamed(name: string): StateKey<unknown> | undefined {
  return keysByName.get(name);
}
