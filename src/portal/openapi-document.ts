/**
 * @module portal/openapi-document
 * The OpenAPI 3.1 documents the portal serves, assembled from its catalog: one per
 * service and one of everything published. Both are served from the gateway itself
 * (`servers: [{ url: "/" }]`), so "try it" calls go through the gateway's own routes,
 * auth and limits. Where two services name a component alike but differently, the
 * aggregated document prefixes the second one's names with its service name.
 */
import { createHash } from "node:crypto";
import type { Catalog, CatalogService } from "./catalog.ts";
import { errorSchema, errorSchemaName } from "./route-access.ts";

export type OpenApiDocument = Record<string, unknown>;

export interface DocumentInfo {
  title: string;
  description?: string;
}

/** The document of one service of the catalog. */
export function serviceDocument(service: CatalogService): OpenApiDocument {
  return assemble(
    { title: service.title, ...(service.description && { description: service.description }) },
    [service],
    service.version,
  );
}

/** The document of everything the catalog publishes. */
export function aggregatedDocument(catalog: Catalog, info: DocumentInfo): OpenApiDocument {
  const taken = new Map<string, string>();
  const services = catalog.services.map((service) => {
    const clash = Object.entries(service.components).some(([kind, named]) =>
      Object.entries(named).some(([name, value]) => {
        const seen = taken.get(`${kind}/${name}`);
        return seen !== undefined && seen !== JSON.stringify(value);
      }),
    );
    const own = clash ? prefixed(service) : service;
    for (const [kind, named] of Object.entries(own.components))
      for (const [name, value] of Object.entries(named))
        taken.set(`${kind}/${name}`, JSON.stringify(value));
    return own;
  });
  return assemble(info, services, undefined);
}

function assemble(
  info: DocumentInfo,
  services: readonly CatalogService[],
  version: string | undefined,
): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  const components: Record<string, Record<string, unknown>> = {
    schemas: { [errorSchemaName]: errorSchema },
  };
  const securitySchemes: Record<string, unknown> = {};
  for (const service of services) {
    for (const [path, item] of Object.entries(service.paths))
      paths[path] = { ...paths[path], ...item };
    for (const [kind, named] of Object.entries(service.components))
      components[kind] = { ...components[kind], ...named };
    Object.assign(securitySchemes, service.securitySchemes);
  }
  if (Object.keys(securitySchemes).length > 0) components.securitySchemes = securitySchemes;
  uniqueOperationIds(paths);
  return {
    openapi: "3.1.0",
    info: {
      title: info.title,
      // The document's own version: the published API changes, and so does this.
      version:
        version ?? createHash("sha256").update(JSON.stringify(paths)).digest("hex").slice(0, 12),
      ...(info.description && { description: info.description }),
    },
    servers: [{ url: "/" }],
    tags: services.map((service) => ({
      name: service.name,
      ...((service.description ?? service.title !== service.name) && {
        description: service.description ?? service.title,
      }),
    })),
    paths,
    components,
  };
}

/**
 * OpenAPI wants operationIds unique in a document: one upstream operation a route serves
 * at two paths, or two services' documents, may repeat one. Later ones get `_2`, `_3`.
 */
function uniqueOperationIds(paths: Record<string, Record<string, unknown>>): void {
  const seen = new Set<string>();
  for (const item of Object.values(paths))
    for (const [method, operation] of Object.entries(item)) {
      const id = (operation as { operationId?: unknown }).operationId;
      if (typeof id !== "string") continue;
      let unique = id;
      for (let n = 2; seen.has(unique); n++) unique = `${id}_${n}`;
      seen.add(unique);
      if (unique !== id) item[method] = { ...(operation as object), operationId: unique };
    }
}

/** The service with every component renamed `service.name` and its references to match. */
function prefixed(service: CatalogService): CatalogService {
  const rename = (text: string) =>
    text === `#/components/schemas/${errorSchemaName}`
      ? text
      : text.replace(/^#\/components\/([^/]+)\/(.+)$/, `#/components/$1/${service.name}.$2`);
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== "object") return node;
    return Object.fromEntries(
      Object.entries(node).map(([key, value]) => [
        key,
        key === "$ref" && typeof value === "string" ? rename(value) : walk(value),
      ]),
    );
  };
  const components = Object.fromEntries(
    Object.entries(service.components).map(([kind, named]) => [
      kind,
      Object.fromEntries(
        Object.entries(named).map(([name, value]) => [`${service.name}.${name}`, walk(value)]),
      ),
    ]),
  ) as CatalogService["components"];
  return { ...service, paths: walk(service.paths) as CatalogService["paths"], components };
}
