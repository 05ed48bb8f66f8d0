/**
 * @module admin/config-api
 * The config as a whole: `GET /config` (the export, secrets redacted; YAML on request),
 * `PUT /config` (replace every service, route, consumer and global plugin at once), its
 * versions, the structural diff between two of them, and rollback to one.
 */
import { stringify } from "yaml";
import { diffConfigs } from "../config/diff.ts";
import { type ConfigDocument, dynamicSections } from "../config/document.ts";
import { redactConfig } from "../config/redact-config.ts";
import { GatehouseError } from "../errors.ts";
import type { ConfigVersion, ConfigVersionSummary } from "../runtime/config-history.ts";
import { type AdminContext, type AdminRoute, changeConfig } from "./context.ts";
import { sendJson, versionTag } from "./http.ts";

export function configRoutes(): AdminRoute[] {
  return [
    { method: "GET", path: "/config", handle: exportConfig },
    { method: "PUT", path: "/config", handle: replaceConfig },
    { method: "GET", path: "/config/versions", handle: listVersions },
    { method: "GET", path: "/config/versions/:version", handle: showVersion },
    { method: "GET", path: "/config/versions/:version/diff", handle: diffVersions },
    { method: "POST", path: "/config/rollback/:version", handle: rollback },
  ];
}

function exportConfig(ctx: AdminContext): void {
  const current = ctx.control.history.current;
  const document = redactConfig(current.document);
  const etag = versionTag(current.version);
  if (wantsYaml(ctx)) {
    const text = stringify(document, { lineWidth: 0 });
    ctx.res.writeHead(200, {
      "content-type": "application/yaml",
      "content-length": Buffer.byteLength(text),
      etag,
    });
    ctx.res.end(ctx.req.method === "HEAD" ? undefined : text);
    return;
  }
  sendJson(ctx.res, 200, document, { etag });
}

async function replaceConfig(ctx: AdminContext): Promise<void> {
  const body = await ctx.body();
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new GatehouseError("GATEHOUSE_ADMIN_BAD_REQUEST", "the config is an object");
  const incoming = body as ConfigDocument;
  const result = await changeConfig(ctx, "config.replace", (current) =>
    replacementOf(current, incoming),
  );
  sendJson(ctx.res, 200, summary(result.version, result.result), {
    etag: versionTag(result.version.version),
  });
}

/**
 * What `PUT /config` makes of `current` with the body `incoming`: every dynamic list as
 * sent (one left out is emptied), and `gateway:` as sent or, left out, as it is.
 */
export function replacementOf(current: ConfigDocument, incoming: ConfigDocument): ConfigDocument {
  const next: ConfigDocument = { ...current };
  for (const section of dynamicSections) {
    if (incoming[section] === undefined) delete next[section];
    else next[section] = incoming[section];
  }
  // Leaving `gateway:` out keeps it; sending it back (as exported) must not change it.
  if ("gateway" in incoming) next.gateway = incoming.gateway;
  return next;
}

function listVersions(ctx: AdminContext): void {
  const { history, lastRefusal } = ctx.control;
  const refused = lastRefusal && { ...lastRefusal, at: lastRefusal.at.toISOString() };
  sendJson(
    ctx.res,
    200,
    {
      current: history.current.version,
      // The config file as last read did not validate: these are its problems, FILE:LINE:COL.
      ...(refused && { lastRefusal: refused }),
      versions: history.list().map((entry) => summary(entry)),
    },
    { etag: versionTag(history.current.version) },
  );
}

function showVersion(ctx: AdminContext): void {
  const entry = kept(ctx, ctx.params.version);
  sendJson(ctx.res, 200, { ...summary(entry), config: redactConfig(entry.document) });
}

/** What changes going from `against` (default: the current version) to `version`. */
function diffVersions(ctx: AdminContext): void {
  const to = kept(ctx, ctx.params.version);
  const against = ctx.query.get("against");
  const from = against === null ? ctx.control.history.current : kept(ctx, against);
  // Compared as written, shown redacted: a rotated key is reported without either value.
  const diff = diffConfigs(from.document, to.document, { redact: redactConfig });
  sendJson(ctx.res, 200, { from: from.version, to: to.version, ...diff });
}

async function rollback(ctx: AdminContext): Promise<void> {
  const target = kept(ctx, ctx.params.version);
  const result = await changeConfig(
    ctx,
    "config.rollback",
    (current) => {
      // The dynamic part as it was; `gateway:` is static, so it stays as it is.
      const next: ConfigDocument = { gateway: current.gateway };
      for (const section of dynamicSections)
        if (target.document[section] !== undefined)
          next[section] = structuredClone(target.document[section]);
      return next;
    },
    { source: "rollback", rolledBackTo: target.version },
  );
  sendJson(
    ctx.res,
    200,
    { ...summary(result.version, result.result), rolledBackTo: target.version },
    { etag: versionTag(result.version.version) },
  );
}

/** A version without its document. */
function summary(entry: ConfigVersionSummary, result?: "applied" | "unchanged") {
  const { version, hash, appliedAt, source, actor, rolledBackTo } = entry;
  return {
    version,
    hash,
    appliedAt: appliedAt.toISOString(),
    source,
    actor,
    ...(rolledBackTo !== undefined && { rolledBackTo }),
    ...(result && { result }),
  };
}

function kept(ctx: AdminContext, text: string | undefined): ConfigVersion {
  const entry = /^\d{1,15}$/.test(text ?? "") ? ctx.control.history.get(Number(text)) : undefined;
  if (!entry)
    throw new GatehouseError(
      "GATEHOUSE_CONFIG_VERSION_NOT_FOUND",
      `config version ${text} is not kept (the last ${ctx.control.history.list().length} are: see GET /config/versions)`,
    );
  return entry;
}

function wantsYaml(ctx: AdminContext): boolean {
  const format = ctx.query.get("format");
  if (format !== null) return format === "yaml";
  return /\b(application|text)\/(x-)?yaml\b/.test(ctx.req.headers.accept ?? "");
}
