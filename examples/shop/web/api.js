// @module shop/web/api
// The shop's public REST API as the page calls it: relative URLs under /api/v1 (the page is
// served by the same gateway), JSON in and out, and one error type for every failure, built
// from the gateway's JSON error `{ error: { code, message, requestId } }`.

const base = "/api/v1";

/** A failed call: what the gateway answered (or that it could not be reached). */
export class ApiError extends Error {
  /**
   * @param {number} status HTTP status, 0 when no answer came
   * @param {string} code the error's stable code, e.g. INVALID_ARGUMENT or GATEHOUSE_RATE_LIMITED
   * @param {string} message what went wrong, for a person
   * @param {string} [requestId] the gateway's request id, to find the request in its logs
   * @param {{ field: string, description: string }[]} [fieldViolations] from google.rpc.BadRequest
   */
  constructor(status, code, message, requestId, fieldViolations = []) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.fieldViolations = fieldViolations;
  }
}

/**
 * Calls the API and resolves with the parsed JSON body; rejects with an ApiError.
 * @param {string} path e.g. `/products?page=1`
 * @param {{ method?: string, body?: unknown, token?: string, headers?: Record<string, string> }} [options]
 */
export async function api(path, options = {}) {
  const headers = { accept: "application/json", ...options.headers };
  if (options.body !== undefined) headers["content-type"] = "application/json";
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let response;
  try {
    response = await fetch(base + path, {
      method: options.method ?? "GET",
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  } catch {
    throw new ApiError(0, "NETWORK_ERROR", "The shop could not be reached. Is it running?");
  }
  const text = await response.text();
  let json;
  try {
    json = text === "" ? {} : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (response.ok && json !== undefined) return json;
  throw errorOf(response, json);
}

/** The ApiError for a failed response, from its JSON error body when it has one. */
function errorOf(response, json) {
  const error = json?.error;
  const requestId = error?.requestId ?? response.headers.get("x-request-id") ?? undefined;
  if (error && typeof error.message === "string") {
    return new ApiError(
      response.status,
      String(error.code ?? response.status),
      error.message,
      requestId,
      fieldViolationsOf(error.details),
    );
  }
  const message = response.ok
    ? "The shop answered with something that is not JSON."
    : `The shop answered ${response.status} ${response.statusText}.`;
  return new ApiError(response.status, `HTTP_${response.status}`, message, requestId);
}

/** The field violations of a google.rpc.BadRequest among an error's details. */
function fieldViolationsOf(details) {
  if (!Array.isArray(details)) return [];
  // Proto JSON names it fieldViolations; with proto field names kept, field_violations.
  return details.flatMap((detail) => {
    const violations = detail?.fieldViolations ?? detail?.field_violations;
    return Array.isArray(violations)
      ? violations.filter((violation) => typeof violation?.field === "string")
      : [];
  });
}
