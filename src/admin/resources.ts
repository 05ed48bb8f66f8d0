/**
 * @module admin/resources
 * `/services`, `/routes`, `/consumers` and `/plugins` (global plugins): list, get, create,
 * replace, patch (JSON merge patch) and delete one resource by name. Each change edits the
 * config as written and goes through the same validation as the config file, so a route
 * naming a service that does not exist is refused here exactly as it is in the file.
 */
import { type ConfigDocument, type DynamicSection, dynamicSections } from "../config/document.ts";
import { redactConfig } from "../config/redact-config.ts";
import { GatehouseError } from "../errors.ts";
import { type AdminContext, type AdminRoute, changeConfig, refuse } from "./context.ts";
import { sendJson, versionTag } from "./http.ts";

type Resource = Record<string, unknown> & { name: string };

const kindOf: Record<DynamicSection, string> = {
  services: "service",
  routes: "route",
  consumers: "consumer",
  plugins: "plugin",
};

/** The admin routes for every kind of resource. */
export function resourceRoutes(): AdminRoute[] {
  return dynamicSections.flatMap((section): AdminRoute[] => {
    const kind = kindOf[section];
    const one = `/${section}/:name`;
    return [
      { method: "GET", path: `/${section}`, handle: (ctx) => list(ctx, section) },
      { method: "GET", path: one, handle: (ctx) => get(ctx, section, kind) },
      { method: "POST", path: `/${section}`, handle: (ctx) => create(ctx, section, kind) },
      { method: "PUT", path: one, handle: (ctx) => replace(ctx, section, kind) },
      { method: "PATCH", path: one, handle: (ctx) => patch(ctx, section, kind) },
      { method: "DELETE", path: one, handle: (ctx) => remove(ctx, section, kind) },
    ];
  });
}

function list(ctx: AdminContext, section: DynamicSection): void {
  const current = ctx.control.history.current;
  const data = redactConfig(current.document[section] ?? []);
  sendJson(ctx.res, 200, { data }, { etag: versionTag(current.version) });
}

function get(ctx: AdminContext, section: DynamicSection, kind: string): void {
  const current = ctx.control.history.current;
  const found = find(current.document, section, ctx.params.name!);
  if (!found) throw notFound(kind, ctx.params.name!);
  sendJson(ctx.res, 200, redactConfig(found), { etag: versionTag(current.version) });
}

async function create(ctx: AdminContext, section: DynamicSection, kind: string): Promise<void> {
  const resource = asResource(await ctx.body(), kind);
  const result = await changeConfig(ctx, `${kind}.create`, (document) => {
    if (find(document, section, resource.name))
      refuse("GATEHOUSE_CONFIG_CONFLICT", `a ${kind} named "${resource.name}" already exists`);
    return { ...document, [section]: [...(document[section] ?? []), resource] };
  });
  answer(ctx, section, resource.name, result.version, 201);
}

async function replace(ctx: AdminContext, section: DynamicSection, kind: string): Promise<void> {
  const name = ctx.params.name!;
  const resource = asResource(await ctx.body(), kind, name);
  let created = false;
  const result = await changeConfig(ctx, `${kind}.update`, (document) => {
    const items = [...(document[section] ?? [])] as Resource[];
    const at = items.findIndex((item) => item.name === name);
    created = at === -1;
    if (created) items.push(resource);
    else items[at] = resource;
    return { ...document, [section]: items };
  });
  answer(ctx, section, name, result.version, created ? 201 : 200);
}

async function patch(ctx: AdminContext, section: DynamicSection, kind: string): Promise<void> {
  const name = ctx.params.name!;
  const changes = await ctx.body();
  if (!isObject(changes))
    throw new GatehouseError(
      "GATEHOUSE_ADMIN_BAD_REQUEST",
      "a PATCH body is a JSON merge patch: an object",
    );
  const result = await changeConfig(ctx, `${kind}.update`, (document) => {
    const items = [...(document[section] ?? [])] as Resource[];
    const at = items.findIndex((item) => item.name === name);
    if (at === -1) refuse("GATEHOUSE_ADMIN_NOT_FOUND", `no ${kind} named "${name}"`);
    const patched = mergePatch(items[at], changes) as Resource;
    if (patched.name !== name)
      refuse(
        "GATEHOUSE_CONFIG_CONFLICT",
        `a PATCH cannot rename the ${kind}: create "${String(patched.name)}" and delete "${name}"`,
      );
    items[at] = patched;
    return { ...document, [section]: items };
  });
  answer(ctx, section, name, result.version, 200);
}

async function remove(ctx: AdminContext, section: DynamicSection, kind: string): Promise<void> {
  const name = ctx.params.name!;
  const result = await changeConfig(ctx, `${kind}.delete`, (document) => {
    const items = (document[section] ?? []) as Resource[];
    if (!items.some((item) => item.name === name))
      refuse("GATEHOUSE_ADMIN_NOT_FOUND", `no ${kind} named "${name}"`);
    return { ...document, [section]: items.filter((item) => item.name !== name) };
  });
  sendJson(ctx.res, 204, undefined, { etag: versionTag(result.version.version) });
}

/** Answers a write with the resource as it now is, and the new version's ETag. */
function answer(
  ctx: AdminContext,
  section: DynamicSection,
  name: string,
  version: { version: number; document: ConfigDocument },
  status: number,
): void {
  const resource = find(version.document, section, name);
  const headers: Record<string, string> = { etag: versionTag(version.version) };
  if (status === 201) headers.location = `/${section}/${encodeURIComponent(name)}`;
  sendJson(ctx.res, status, redactConfig(resource), headers);
}

function find(
  document: ConfigDocument,
  section: DynamicSection,
  name: string,
): Resource | undefined {
  return (document[section] as Resource[] | undefined)?.find((item) => item?.name === name);
}

/** The body as a resource: an object with a name (the path's, when the path has one). */
function asResource(body: unknown, kind: string, name?: string): Resource {
  if (!isObject(body))
    throw new GatehouseError("GATEHOUSE_ADMIN_BAD_REQUEST", `a ${kind} is a JSON object`);
  if (name === undefined) {
    if (typeof body.name !== "string" || body.name === "")
      throw new GatehouseError("GATEHOUSE_ADMIN_BAD_REQUEST", `a new ${kind} needs a "name"`);
    return body as Resource;
  }
  if (body.name !== undefined && body.name !== name)
    throw new GatehouseError(
      "GATEHOUSE_ADMIN_BAD_REQUEST",
      `the body names "${String(body.name)}" but the path "${name}": a PUT cannot rename`,
    );
  return { name, ...body };
}

function notFound(kind: string, name: string): GatehouseError {
  return new GatehouseError("GATEHOUSE_ADMIN_NOT_FOUND", `no ${kind} named "${name}"`);
}

/** RFC 7396: objects merge key by key, `null` removes a key, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
