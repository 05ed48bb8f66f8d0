// @module admin/ui/api
// Calls the admin API from the page: the key kept in this tab's session storage and sent as
// a bearer header (no cookies, so no CSRF), JSON or YAML bodies, the gateway's error shape
// as an ApiError, and the stats stream read with fetch (EventSource cannot send headers).

const keyName = "gatehouse.adminKey";

/** The admin key this tab logged in with, or "" (none needed on a keyless loopback listener). */
export function storedKey() {
  return sessionStorage.getItem(keyName) ?? "";
}

/** Keeps `key` for this tab (an empty key forgets it). */
export function storeKey(key) {
  if (key) sessionStorage.setItem(keyName, key);
  else sessionStorage.removeItem(keyName);
}

/** An error answer of the admin API: its status, code, message, request id and details. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error ?? {};
    super(error.message ?? `the admin API answered ${status}`);
    this.status = status;
    this.code = error.code ?? "";
    this.requestId = error.requestId ?? "";
    this.details = error.details;
    /** A refused change's problems, each named by its place in the config. */
    this.problems = error.problems ?? [];
  }
}

/** Called with the error when the key is missing, wrong or no longer valid (401). */
let onUnauthorized = () => {};
export function whenUnauthorized(handler) {
  onUnauthorized = handler;
}

function headersFor(options) {
  const headers = { accept: "application/json" };
  const key = storedKey();
  if (key) headers.authorization = `Bearer ${key}`;
  if (options.ifMatch !== undefined) headers["if-match"] = `"${options.ifMatch}"`;
  if (options.yaml !== undefined) headers["content-type"] = "application/yaml";
  else if (options.body !== undefined) headers["content-type"] = "application/json";
  return headers;
}

/**
 * Calls `path` and returns `{ status, body, etag, version }` (`version` from the ETag: the
 * config version a change made or a read saw; `body` parsed from JSON, the text for any
 * other type). Throws an ApiError for a 4xx/5xx answer.
 * @param {string} path
 * @param {{ method?: string, body?: unknown, yaml?: string, ifMatch?: number, signal?: AbortSignal }} [options]
 */
export async function api(path, options = {}) {
  const response = await fetch(path, {
    method: options.method ?? "GET",
    headers: headersFor(options),
    body: options.yaml ?? (options.body === undefined ? undefined : JSON.stringify(options.body)),
    signal: options.signal,
    cache: "no-store",
  });
  const text = await response.text();
  // A YAML answer (GET /config?format=yaml) is given as its text.
  const json = /json/.test(response.headers.get("content-type") ?? "application/json");
  const body = text === "" ? undefined : json ? JSON.parse(text) : text;
  if (!response.ok) {
    const error = new ApiError(response.status, body);
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  const etag = response.headers.get("etag");
  const version = etag ? Number(etag.replaceAll('"', "")) : undefined;
  return { status: response.status, body, etag, version };
}

/**
 * Reads a server-sent event stream (`GET path`) with the key, calling `onEvent(name, data)`
 * for each event (data parsed as JSON), until `signal` aborts or the stream ends. Resolves
 * when it ends; rejects with an ApiError when the answer is an error.
 */
export async function stream(path, onEvent, signal) {
  const response = await fetch(path, { headers: headersFor({}), signal, cache: "no-store" });
  if (!response.ok) {
    const error = new ApiError(response.status, await response.json().catch(() => undefined));
    if (response.status === 401) onUnauthorized(error);
    throw error;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffered += value;
      let end = buffered.indexOf("\n\n");
      while (end >= 0) {
        dispatch(buffered.slice(0, end), onEvent);
        buffered = buffered.slice(end + 2);
        end = buffered.indexOf("\n\n");
      }
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw error;
  }
}

function dispatch(block, onEvent) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
  }
  if (data.length > 0) onEvent(name, JSON.parse(data.join("\n")));
}
