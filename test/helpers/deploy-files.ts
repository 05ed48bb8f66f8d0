/**
 * @module test/helpers/deploy-files
 * Checks of the deploy/ recipes that need neither Docker nor Kubernetes: each returns the
 * problems it finds as lines (empty when all is well), so a test can assert both that the
 * real files pass and that a broken copy fails. Gatehouse configs are validated by the
 * gateway's own loader, with the environment the container would give them.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { parseAllDocuments } from "yaml";
import { ConfigError, formatProblem } from "../../src/config/load.ts";
import type { GatehouseConfig } from "../../src/config/schema/index.ts";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, checked field by field
export type Json = Record<string, any>;

/** A value for an environment variable a secret would fill: long enough for any key rule. */
export const secretPlaceholder = "placeholder-secret-0123456789abcdef";

/** Every YAML document in `file`, merge keys (`<<: *anchor`) resolved; a syntax error throws. */
export function yamlDocuments(file: string, text = readFileSync(file, "utf8")): Json[] {
  return parseAllDocuments(text, { merge: true }).map((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0]!.message}`);
    return document.toJS() as Json;
  });
}

/** The config as Gatehouse would load it, or the problems it would print. */
export function loadConfig(
  text: string,
  name: string,
  env: Record<string, string>,
): { config?: GatehouseConfig; problems: string[] } {
  try {
    return { config: parseGatewayConfig(text, name, env), problems: [] };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return { problems: error.problems.map(formatProblem) };
  }
}

/** The ports a config listens on: proxy listeners, status listener, admin API. */
export function configPorts(config: GatehouseConfig): {
  all: Set<number>;
  status: number | undefined;
} {
  const { listen, status, admin } = config.gateway;
  const all = new Set(listen.map((listener) => listener.port));
  if (status) all.add(status.port);
  if (admin) all.add(admin.port);
  return { all, status: status?.port };
}

/**
 * Checks deploy/compose/compose.yaml: files and services it names exist, each Gatehouse
 * node's config validates with the node's environment, its healthcheck probes the
 * status listener's /health, its container ports are the config's, and the config's
 * upstream targets and the nginx front name services and ports that exist.
 */
export function composeProblems(file: string, text?: string): string[] {
  const dir = dirname(file);
  const problems: string[] = [];
  const compose = yamlDocuments(file, text)[0]!;
  const services = (compose.services ?? {}) as Record<string, Json>;
  const configPortsOf = new Map<string, Set<number>>();
  for (const [name, service] of Object.entries(services)) {
    const where = `${relative(process.cwd(), file)} services.${name}`;
    for (const dependency of Object.keys(service.depends_on ?? {})) {
      if (!(dependency in services)) problems.push(`${where}: depends on unknown ${dependency}`);
    }
    if (service.build) {
      const context = join(dir, service.build.context ?? ".");
      if (!existsSync(join(context, service.build.dockerfile ?? "Dockerfile"))) {
        problems.push(`${where}: no Dockerfile at ${service.build.dockerfile} in ${context}`);
      }
    }
    const mounts = new Map<string, string>();
    for (const volume of service.volumes ?? []) {
      const [source, target] = String(volume).split(":");
      if (!source!.startsWith(".")) continue; // a named volume
      if (!existsSync(join(dir, source!))) problems.push(`${where}: ${source} does not exist`);
      mounts.set(target!, join(dir, source!));
    }
    const command: string[] = [...(service.entrypoint ?? []), ...(service.command ?? [])];
    const script = command.find((arg) => arg.endsWith(".ts"));
    if (script && !existsSync(join(dir, service.build?.context ?? "../..", script))) {
      problems.push(`${where}: ${script} does not exist in the image's source`);
    }
    const configAt = command[command.indexOf("--config") + 1];
    if (!command.includes("--config") || configAt === undefined) continue;
    const source = mounts.get(configAt);
    if (source === undefined) {
      problems.push(`${where}: --config ${configAt} is not a file mounted from this directory`);
      continue;
    }
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(service.environment ?? {})) {
      // `${VAR:?message}` is filled in by compose from the operator's environment.
      env[key] = /^\$\{/.test(String(value)) ? secretPlaceholder : String(value);
    }
    const { config, problems: invalid } = loadConfig(readFileSync(source, "utf8"), source, env);
    problems.push(...invalid.map((line) => `${where}: ${line}`));
    if (!config) continue;
    const ports = configPorts(config);
    configPortsOf.set(name, ports.all);
    const published = [
      ...(service.expose ?? []).map(Number),
      ...(service.ports ?? []).map((mapping: string) => Number(String(mapping).split(":").at(-1))),
    ];
    for (const port of published) {
      if (!ports.all.has(port))
        problems.push(`${where}: port ${port} is not one the config listens on`);
    }
    for (const port of ports.all) {
      if (!published.includes(port)) problems.push(`${where}: config port ${port} is not exposed`);
    }
    const probe = (service.healthcheck?.test ?? []).join(" ");
    if (!probe.includes(`http://127.0.0.1:${ports.status}/health`)) {
      problems.push(`${where}: the healthcheck does not probe the status listener's /health`);
    }
    for (const upstream of config.services) {
      for (const target of upstream.targets ?? []) {
        const { hostname, port } = new URL(target.url);
        const serving = services[hostname];
        const args = [...(serving?.entrypoint ?? []), ...(serving?.command ?? [])];
        if (!serving || !args.includes(port)) {
          problems.push(`${where}: target ${target.url} is no compose service on that port`);
        }
      }
    }
  }
  for (const mount of Object.values(services).flatMap((service) => service.volumes ?? [])) {
    const source = String(mount).split(":")[0]!;
    if (!source.endsWith("nginx.conf") || !existsSync(join(dir, source))) continue;
    const nginx = readFileSync(join(dir, source), "utf8");
    for (const [, host, port] of nginx.matchAll(/^\s*server\s+([\w-]+):(\d+)/gm)) {
      if (!configPortsOf.get(host!)?.has(Number(port))) {
        problems.push(`${source}: upstream ${host}:${port} is no Gatehouse node's listener`);
      }
    }
  }
  return problems;
}

/**
 * A kustomization built the way `kubectl apply -k` would for these files: its resources
 * (files, or directories with their own kustomization) with its patches merged in, list
 * items matched by `name` as a strategic merge does.
 */
export function buildKustomization(dir: string, problems: string[]): Json[] {
  const kustomization = yamlDocuments(join(dir, "kustomization.yaml"))[0]!;
  const objects: Json[] = [];
  for (const resource of kustomization.resources ?? []) {
    const path = join(dir, resource);
    if (!existsSync(path)) problems.push(`${dir}/kustomization.yaml: no resource ${resource}`);
    else if (statSync(path).isDirectory()) objects.push(...buildKustomization(path, problems));
    else objects.push(...yamlDocuments(path).filter(Boolean));
  }
  for (const { path } of kustomization.patches ?? []) {
    const file = join(dir, path);
    if (!existsSync(file)) {
      problems.push(`${dir}/kustomization.yaml: no patch ${path}`);
      continue;
    }
    for (const patch of yamlDocuments(file)) {
      const index = objects.findIndex(
        (object) => object.kind === patch.kind && object.metadata?.name === patch.metadata?.name,
      );
      if (index < 0) problems.push(`${file}: patches no ${patch.kind} ${patch.metadata?.name}`);
      else objects[index] = merge(objects[index], patch);
    }
  }
  return objects;
}

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML in, parsed YAML out
function merge(base: unknown, patch: unknown): any {
  if (Array.isArray(base) && Array.isArray(patch)) {
    if (!patch.every((item) => typeof item?.name === "string")) return patch;
    const merged = [...base];
    for (const item of patch) {
      const at = merged.findIndex((existing) => existing?.name === item.name);
      if (at < 0) merged.push(item);
      else merged[at] = merge(merged[at], item);
    }
    return merged;
  }
  if (isObject(base) && isObject(patch)) {
    const merged: Json = { ...base };
    for (const [key, value] of Object.entries(patch)) merged[key] = merge(base[key], value);
    return merged;
  }
  return patch;
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
