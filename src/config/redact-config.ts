/**
 * @module config/redact-config
 * Secrets taken out of a config document before anyone sees it (the admin API's export,
 * a diff, the audit trail), and put back when the document comes back edited: a client
 * may GET a config, change a route and PUT it all back without knowing a single key.
 *
 * The document is the config as written (`${env:…}` references unresolved), so a
 * reference stays visible — it names where the secret is, not what it is. What is
 * blanked: literal values of credential fields (known names, and any key whose name ends
 * in token, secret, password or api key), credentials in a URL (config/url-credentials),
 * the header values sent to the trace collector, and any value substituted into the
 * running config.
 */
import { processSecrets, redacted } from "./secret-values.ts";
import { redactUrlCredentials, restoreUrlCredentials } from "./url-credentials.ts";

/** Keys whose string values (or the strings in their lists) are credentials. */
const credentialKeys = new Set(["authorization", "key", "keys"]);

/**
 * Endings of key names (lower case, `_` and `-` left out) that name a credential, wherever
 * the key is: `password`, `clientSecret`, `metadata.apiToken`, `db_password`, `apiKey`.
 */
const credentialEndings = [
  "token",
  "secret",
  "password",
  "passwd",
  "passphrase",
  "apikey",
  "accesskey",
  "privatekey",
  "secretkey",
];

/** Whether the value of a key named `key` is a credential. */
function isCredentialKey(key: string): boolean {
  const name = key.toLowerCase();
  if (credentialKeys.has(name)) return true;
  const joined = name.replace(/[-_]/g, "");
  return credentialEndings.some((ending) => joined.endsWith(ending));
}

/** Keys whose whole map holds credentials as values (`tracing.headers`). */
const credentialMaps = new Set(["headers"]);

/** A whole-value reference such as `${env:NAME}`: shows where a secret is, never what. */
const reference = /^\$\{(env|file|enc):[^}]*\}$/;

type Json = unknown;

/** A copy of `document` with every secret in it replaced by `[redacted]`. */
export function redactConfig<T>(document: T): T {
  return processSecrets.redactDeep(walk(document, false) as T);
}

/** `credential`: `value` is (a list of) the value of a credential key; a map inside one is looked at key by key. */
function walk(value: Json, credential: boolean): Json {
  if (typeof value === "string") return redactString(value, credential);
  if (Array.isArray(value)) return value.map((item) => walk(item, credential));
  if (value !== null && typeof value === "object") {
    const copy: Record<string, Json> = {};
    for (const [key, item] of Object.entries(value)) {
      const lower = key.toLowerCase();
      if (credentialMaps.has(lower) && isMap(item)) {
        copy[key] = Object.fromEntries(
          Object.entries(item).map(([name, header]) => [name, walk(header, true)]),
        );
      } else copy[key] = walk(item, isCredentialKey(key));
    }
    return copy;
  }
  return value;
}

function redactString(value: string, credential: boolean): string {
  if (reference.test(value)) return value;
  if (credential) return redacted;
  return redactUrlCredentials(value);
}

/**
 * `incoming` with every `[redacted]` put back to the value at the same place in `current`
 * (items of lists of named resources are matched by name, other lists by position). A
 * placeholder with nothing to restore stays as it is, and validation will say so.
 */
export function restoreRedacted<T>(incoming: T, current: unknown): T {
  return restore(incoming, current) as T;
}

function restore(incoming: Json, current: Json): Json {
  if (typeof incoming === "string") {
    if (incoming === redacted && current !== undefined) return current;
    // A URL edited elsewhere (its host, another parameter) keeps its credentials.
    if (incoming.includes(redacted) && typeof current === "string")
      return restoreUrlCredentials(incoming, current);
    return incoming;
  }
  if (Array.isArray(incoming)) {
    const before = Array.isArray(current) ? current : [];
    return incoming.map((item, index) => restore(item, counterpart(item, index, before)));
  }
  if (isMap(incoming)) {
    const before = isMap(current) ? current : {};
    const copy: Record<string, Json> = {};
    for (const [key, item] of Object.entries(incoming)) copy[key] = restore(item, before[key]);
    return copy;
  }
  return incoming;
}

/** The item of `before` that `item` edits: the one with its name, or the one at its place. */
function counterpart(item: Json, index: number, before: readonly Json[]): Json {
  const name = isMap(item) ? item.name : undefined;
  if (typeof name === "string") return before.find((other) => isMap(other) && other.name === name);
  return before[index];
}

function isMap(value: Json): value is Record<string, Json> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
