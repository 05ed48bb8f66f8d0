/**
 * @module portal/document-servers
 * The server URLs a service's own OpenAPI document may name besides its top-level and
 * operation `servers`: a Link's `server`, a callback's path items' and operations'
 * `servers`, those of a 3.1 `components.pathItems` entry. They are the upstream's
 * addresses, not the gateway's: the portal publishes none of them ("try it" goes through
 * the gateway, and where the upstream lives is not the public's to know).
 */

type Json = Record<string, unknown>;

const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** `object` without `key` (a copy; the document read is left as it is). */
function omit(object: Json, key: string): Json {
  const { [key]: _dropped, ...rest } = object;
  return rest;
}

/** A map (of links, responses, callbacks...) with each object value through `each`. */
function mapValues(map: unknown, each: (value: Json) => Json): unknown {
  if (!isObject(map)) return map;
  return Object.fromEntries(
    Object.entries(map).map(([key, value]) => [key, isObject(value) ? each(value) : value]),
  );
}

const link = (value: Json) => omit(value, "server");

function response(value: Json): Json {
  return "links" in value ? { ...value, links: mapValues(value.links, link) } : value;
}

function pathItem(item: Json): Json {
  const published = omit(item, "servers");
  for (const method of methods)
    if (isObject(published[method])) published[method] = operationWithoutServers(published[method]);
  return published;
}

const callback = (value: Json) => mapValues(value, pathItem) as Json;

/** An operation without any server URL: its own `servers`, its links' and callbacks'. */
export function operationWithoutServers(operation: Json): Json {
  const published = omit(operation, "servers");
  if ("responses" in published) published.responses = mapValues(published.responses, response);
  if ("callbacks" in published) published.callbacks = mapValues(published.callbacks, callback);
  return published;
}

/** A document's `components` without any server URL (links, responses, callbacks, path items). */
export function componentsWithoutServers(components: Json): Json {
  const published = { ...components };
  if ("links" in published) published.links = mapValues(published.links, link);
  if ("responses" in published) published.responses = mapValues(published.responses, response);
  if ("callbacks" in published) published.callbacks = mapValues(published.callbacks, callback);
  if ("pathItems" in published) published.pathItems = mapValues(published.pathItems, pathItem);
  return published;
}
