/**
 * @module admin/openapi
 * The OpenAPI 3.1 description of the admin API, served at `GET /openapi.json`.
 */

/** The admin API's OpenAPI document. */
export function openApiDocument(): Record<string, unknown> {
  return { openapi: "3.1.0", info: { title: "Gatehouse admin API", version: "1" }, paths: {} };
}
