/**
 * @module config/url-credentials
 * Credentials written into a URL: a password (or a token standing alone) in its user
 * info, or a query parameter such as `api_key=`, `access_token=` or `X-Amz-Signature=`.
 * Found wherever a URL is in the config, whatever the key holding it is called: the admin
 * API blanks them (config/redact-config), and a config load warns about each one, located,
 * because the place for a secret is a `${env:…}`, `${file:…}` or `${enc:…}` reference.
 */
import { redacted } from "./secret-values.ts";

/** The last word of a query parameter's name that makes its value a credential. */
const credentialWords = new Set([
  "key",
  "apikey",
  "token",
  "secret",
  "password",
  "passwd",
  "pwd",
  "pass",
  "signature",
  "sig",
  "auth",
  "credential",
  "credentials",
]);

/** Last words that name a credential only alone or after one of `credentialQualifiers`. */
const ambiguousWords = new Set(["key", "auth"]);
const credentialQualifiers = new Set([
  "api",
  "access",
  "secret",
  "private",
  "client",
  "app",
  "application",
  "subscription",
  "license",
  "signing",
  "session",
  "auth",
  "basic",
  "bearer",
  "http",
]);

/** A value that is (or holds) a reference names where a secret is, not what it is. */
const holdsReference = /\$\{(env|file|enc):/;

/** Whether a query parameter named `name` carries a credential (`api_key`, `accessToken`, `sig`). */
export function isCredentialParameter(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  const named = words.filter(Boolean);
  const last = named.at(-1);
  if (last === undefined || !credentialWords.has(last)) return false;
  // `key` and `auth` alone are credentials, as are `api_key` or `access_auth`; a
  // `sort_key` or `skip_auth` is not.
  if (!ambiguousWords.has(last) || named.length === 1) return true;
  return credentialQualifiers.has(named.at(-2)!);
}

/** Where in a URL's text each literal credential is: [start, end) ranges, and what each is. */
interface Found {
  start: number;
  end: number;
  what: string;
}

/** The literal credentials `value` carries as a URL; empty when it is no URL or has none. */
function credentialsIn(value: string): Found[] {
  const scheme = value.indexOf("://");
  if (scheme <= 0 || !(value.includes("@") || value.includes("?")) || !URL.canParse(value))
    return [];
  const found: Found[] = [];
  const authorityStart = scheme + 3;
  let authorityEnd = value.slice(authorityStart).search(/[/?#]/);
  authorityEnd = authorityEnd === -1 ? value.length : authorityStart + authorityEnd;
  const at = value.lastIndexOf("@", authorityEnd - 1);
  if (at >= authorityStart) {
    const colon = value.indexOf(":", authorityStart);
    // `user:password@`: the password; `token@`: the name alone is the credential.
    const [start, what] =
      colon !== -1 && colon < at
        ? [colon + 1, "a password in its user info"]
        : [authorityStart, "a token as its user name"];
    if (at > start && !holdsReference.test(decoded(value.slice(start, at))))
      found.push({ start, end: at, what });
  }
  const queryStart = value.indexOf("?", authorityEnd);
  if (queryStart !== -1) {
    const hash = value.indexOf("#", queryStart);
    const queryEnd = hash === -1 ? value.length : hash;
    let start = queryStart + 1;
    while (start < queryEnd) {
      let end = value.indexOf("&", start);
      if (end === -1 || end > queryEnd) end = queryEnd;
      const equals = value.indexOf("=", start);
      if (equals !== -1 && equals < end) {
        const name = decoded(value.slice(start, equals).replaceAll("+", " "));
        const secret = value.slice(equals + 1, end);
        if (secret !== "" && isCredentialParameter(name) && !holdsReference.test(decoded(secret)))
          found.push({ start: equals + 1, end, what: `${name}= in its query` });
      }
      start = end + 1;
    }
  }
  return found;
}

function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** What literal credentials `value` carries as a URL (e.g. `api_key= in its query`); empty if none. */
export function urlCredentials(value: string): string[] {
  return credentialsIn(value).map((found) => found.what);
}

/**
 * `value` with each literal credential it carries as a URL replaced by `[redacted]`, the
 * rest exactly as written: `https://auth.example/i?api_key=[redacted]&v=2`,
 * `redis://app:[redacted]@redis:6379`. Anything else is returned unchanged.
 */
export function redactUrlCredentials(value: string): string {
  const found = credentialsIn(value);
  if (found.length === 0) return value;
  let text = "";
  let from = 0;
  for (const { start, end } of found) {
    text += value.slice(from, start) + redacted;
    from = end;
  }
  return text + value.slice(from);
}

/**
 * `incoming`, an edited copy of `redactUrlCredentials(current)`, with each `[redacted]` put
 * back to the credential `current` has at the same place: its user info, or the query
 * parameter of the same name (the first of that name for the first, and so on). The rest
 * of the URL may have been edited (a host, another parameter); a placeholder with no
 * counterpart stays as it is.
 */
export function restoreUrlCredentials(incoming: string, current: string): string {
  const slots = credentialsIn(incoming);
  if (slots.length === 0) return incoming;
  const secrets = new Map<string, string[]>();
  for (const { start, end, what } of credentialsIn(current)) {
    const values = secrets.get(what);
    if (values) values.push(current.slice(start, end));
    else secrets.set(what, [current.slice(start, end)]);
  }
  let text = "";
  let from = 0;
  for (const { start, end, what } of slots) {
    const secret = secrets.get(what)?.shift();
    if (secret === undefined || incoming.slice(start, end) !== redacted) continue;
    text += incoming.slice(from, start) + secret;
    from = end;
  }
  return text + incoming.slice(from);
}
