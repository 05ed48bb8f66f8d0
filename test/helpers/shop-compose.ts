/**
 * @module test/helpers/shop-compose
 * Checks of examples/shop/compose.yaml that need no Docker engine: every file it builds
 * from or mounts exists and parses, every service it depends on exists, the gateway's
 * config validates with the environment compose gives it, and every address one service
 * gives another (database, NATS, etcd, registry, JWKS, OTLP, scrape and data source
 * URLs) names a compose service that exposes that port and, where both sides say it, with
 * the same credentials. Returns the problems as lines, empty when all is well.
 */
import { existsSync, readFileSync } from "node:fs";
import { extname, join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { ConfigError, formatProblem } from "../../src/config/load.ts";
import type { GatehouseConfig } from "../../src/config/schema/index.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { type Json, secretPlaceholder, yamlDocuments } from "./deploy-files.ts";

/** What the checks found, and the files they parsed (for tests that look further). */
export interface ShopComposeReport {
  problems: string[];
  /** Every mounted file's container path → its host path. */
  mounts: Map<string, string>;
  services: Record<string, Json>;
}

/** A compose environment value as the container sees it (`${VAR:?…}` filled in). */
const envOf = (service: Json): Record<string, string> =>
  Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([key, value]) => [
      key,
      /^\$\{/.test(String(value)) ? secretPlaceholder : String(value),
    ]),
  );

const exposes = (service: Json | undefined, port: number): boolean =>
  service !== undefined &&
  [...(service.expose ?? []), ...(service.ports ?? [])].some(
    (entry: unknown) => Number(String(entry).split(":").at(-1)) === port,
  );

const argsOf = (service: Json): string[] => [
  ...(service.entrypoint ?? []),
  ...(service.command ?? []),
];

/** Checks the compose file at `file` (or `text` as if it were that file). */
export async function shopComposeReport(
  file: string,
  repoRoot: string,
  text?: string,
): Promise<ShopComposeReport> {
  const dir = resolve(file, "..");
  const problems: string[] = [];
  const compose = yamlDocuments(file, text)[0]!;
  const services = (compose.services ?? {}) as Record<string, Json>;
  const mounts = new Map<string, string>();
  const reachable = (where: string, what: string, url: string | undefined) => {
    if (url === undefined) return problems.push(`${where}: no ${what}`);
    const { hostname, port } = new URL(url);
    if (!exposes(services[hostname], Number(port)))
      problems.push(`${where}: ${what} ${url} is no compose service exposing port ${port}`);
  };

  for (const [name, service] of Object.entries(services)) {
    const where = `services.${name}`;
    for (const dependency of Object.keys(service.depends_on ?? {})) {
      if (!(dependency in services)) problems.push(`${where}: depends on unknown ${dependency}`);
    }
    if (service.build) {
      const dockerfile = join(
        dir,
        service.build.context ?? ".",
        service.build.dockerfile ?? "Dockerfile",
      );
      if (!existsSync(dockerfile)) problems.push(`${where}: no Dockerfile at ${dockerfile}`);
    }
    for (const volume of service.volumes ?? []) {
      const [source, target] = String(volume).split(":");
      if (!source!.startsWith(".")) {
        if (!(source! in (compose.volumes ?? {})))
          problems.push(`${where}: unknown volume ${source}`);
        continue;
      }
      const host = join(dir, source!);
      if (!host.startsWith(join(dir, "deploy")))
        problems.push(`${where}: ${source} is outside deploy/`);
      if (!existsSync(host)) {
        problems.push(`${where}: ${source} does not exist`);
        continue;
      }
      mounts.set(target!, host);
      try {
        const content = readFileSync(host, "utf8");
        if (extname(host) === ".json") JSON.parse(content);
        else if (/\.ya?ml$/.test(host)) parseYaml(content);
      } catch (error) {
        problems.push(`${where}: ${source} does not parse: ${(error as Error).message}`);
      }
    }
    const script = argsOf(service).find((arg) => arg.endsWith(".ts") || arg.endsWith(".js"));
    if (script && !existsSync(join(repoRoot, script))) {
      problems.push(`${where}: ${script} is not in the repository (the image's source)`);
    }
  }

  // The gateway: its config (with the compose overlay) under the environment given to it.
  const gateway = services.gateway;
  let config: GatehouseConfig | undefined;
  if (!gateway) problems.push("no gateway service");
  else {
    const args = argsOf(gateway);
    const configFile = join(repoRoot, args[args.indexOf("--config") + 1] ?? "");
    const environment = args.includes("--env") ? args[args.indexOf("--env") + 1]! : undefined;
    const overlay = environment
      ? { file: configFile.replace(/\.yaml$/, `.${environment}.yaml`), environment }
      : undefined;
    try {
      config = await validateConfigFile(configFile, envOf(gateway), overlay);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(
        ...error.problems.map((problem) => `services.gateway: ${formatProblem(problem)}`),
      );
    }
  }
  if (config && gateway) {
    const env = envOf(gateway);
    for (const listener of config.gateway.listen) {
      if (!exposes(gateway, listener.port))
        problems.push(`services.gateway: listen port ${listener.port} is not exposed`);
    }
    const statusPort = config.gateway.status?.port;
    const registryPort = config.gateway.registry?.listen?.port;
    if (registryPort === undefined) problems.push("services.gateway: no registry listener");
    reachable(
      "services.gateway",
      "JWKS host",
      `http://${env.USERS_JWKS_HOST}:${env.USERS_JWKS_PORT}`,
    );
    reachable("services.gateway", "OTLP endpoint", env.OTEL_EXPORTER_OTLP_ENDPOINT);
    reachable("services.gateway", "etcd", env.ETCD_URL);
    if (envOf(services[env.USERS_JWKS_HOST!] ?? {}).USERS_JWKS_PORT !== env.USERS_JWKS_PORT)
      problems.push("services.gateway: USERS_JWKS_PORT differs from the users service's");
    const checkHealth = argsOf(gateway).join(" ") + JSON.stringify(gateway.healthcheck ?? {});
    if (!checkHealth.includes(`127.0.0.1:${statusPort}/health`))
      problems.push(
        "services.gateway: the healthcheck does not probe the status listener's /health",
      );

    // The shop's services: where their data, events, registry and traces go.
    const instances = new Map<string, number>();
    for (const [name, service] of Object.entries(services)) {
      const args = argsOf(service);
      // A shop service (`service.ts <name>`), or the front end's file server (`web.ts`).
      const at = args.findIndex((arg) => arg.endsWith("/service.ts"));
      const web = args.some((arg) => arg.endsWith("/services/web.ts"));
      if (at === -1 && !web) continue;
      const shop = web ? "web" : args[at + 1]!;
      instances.set(shop, (instances.get(shop) ?? 0) + 1);
      const where = `services.${name}`;
      const own = envOf(service);
      const database = own.DATABASE_URL ? new URL(own.DATABASE_URL) : undefined;
      reachable(where, "DATABASE_URL", own.DATABASE_URL);
      const pg = envOf(services[database?.hostname ?? ""] ?? {});
      if (
        database &&
        (database.username !== pg.POSTGRES_USER ||
          database.password !== pg.POSTGRES_PASSWORD ||
          database.pathname.slice(1) !== pg.POSTGRES_DB)
      )
        problems.push(
          `${where}: DATABASE_URL's user, password or database is not the postgres service's`,
        );
      reachable(where, "NATS_URL", own.NATS_URL);
      const nats = services[own.NATS_URL ? new URL(own.NATS_URL).hostname : ""];
      if (nats && !argsOf(nats).includes("-js"))
        problems.push(`${where}: NATS runs without JetStream (-js)`);
      reachable(where, "GATEHOUSE_REGISTRY", own.GATEHOUSE_REGISTRY);
      if (own.GATEHOUSE_REGISTRY) {
        const registry = new URL(own.GATEHOUSE_REGISTRY);
        if (registry.hostname !== "gateway" || Number(registry.port) !== registryPort)
          problems.push(
            `${where}: GATEHOUSE_REGISTRY is not the gateway's registry listener (port ${registryPort})`,
          );
      }
      if (
        service.environment?.GATEHOUSE_REGISTRY_KEY !== gateway.environment?.GATEHOUSE_REGISTRY_KEY
      )
        problems.push(`${where}: GATEHOUSE_REGISTRY_KEY is not the gateway's`);
      reachable(where, "OTLP endpoint", own.OTEL_EXPORTER_OTLP_ENDPOINT);
      // What the services (and the web service) register as their address.
      if (own.SHOP_ADVERTISE_HOST !== name)
        problems.push(`${where}: SHOP_ADVERTISE_HOST is not ${name}`);
      if (own.SHOP_LISTEN_HOST !== "0.0.0.0")
        problems.push(
          `${where}: SHOP_LISTEN_HOST is not 0.0.0.0 (unreachable from other containers)`,
        );
      const portVariable = web ? "SHOP_WEB_PORT" : `${shop.toUpperCase()}_PORT`;
      if (!exposes(service, Number(own[portVariable])))
        problems.push(`${where}: ${portVariable} (${own[portVariable]}) is not exposed`);
    }
    for (const upstream of config.services) {
      const wanted = upstream.discovery?.registry?.service;
      if (wanted === undefined) continue;
      const count = instances.get(wanted) ?? 0;
      const least = wanted === "payments" || wanted === "inventory" ? 2 : 1;
      if (count < least)
        problems.push(
          `gateway service ${wanted}: ${count} instances in compose, expected ${least}+`,
        );
    }

    // Traces: services and gateway → collector → Jaeger.
    const collector = parseYaml(
      readFileSync(mounts.get("/etc/otelcol-contrib/config.yaml") ?? "/dev/null", "utf8") || "{}",
    ) as Json;
    const httpIn = collector?.receivers?.otlp?.protocols?.http?.endpoint as string | undefined;
    const otlpPort = env.OTEL_EXPORTER_OTLP_ENDPOINT
      ? new URL(env.OTEL_EXPORTER_OTLP_ENDPOINT).port
      : "";
    if (!httpIn?.endsWith(`:${otlpPort}`))
      problems.push(`otel collector: no OTLP/HTTP receiver on port ${otlpPort}`);
    for (const [exporter, settings] of Object.entries((collector?.exporters ?? {}) as Json)) {
      reachable(`otel collector exporter ${exporter}`, "endpoint", `http://${settings.endpoint}`);
    }
    const pipelines = (collector?.service?.pipelines ?? {}) as Json;
    if (!pipelines.traces?.exporters?.length) problems.push("otel collector: no traces pipeline");

    // Metrics: Prometheus scrapes the gateway's status listener, which must answer its Host.
    const prometheus = parseYaml(
      readFileSync(mounts.get("/etc/prometheus/prometheus.yml") ?? "/dev/null", "utf8") || "{}",
    ) as Json;
    const targets: string[] = (prometheus?.scrape_configs ?? []).flatMap((job: Json) =>
      (job.static_configs ?? []).flatMap((group: Json) => group.targets ?? []),
    );
    if (!targets.includes(`gateway:${statusPort}`))
      problems.push(`prometheus: does not scrape gateway:${statusPort}`);
    for (const target of targets) reachable("prometheus", "scrape target", `http://${target}`);
    if (!config.gateway.status?.allowedHosts.includes("gateway"))
      problems.push(
        "services.gateway: the status listener does not answer Host gateway (Prometheus)",
      );

    // Grafana: data sources, and the dashboard where the provider looks.
    for (const [target, host] of mounts) {
      if (!target.startsWith("/etc/grafana/provisioning/")) continue;
      const provisioning = parseYaml(readFileSync(host, "utf8")) as Json;
      for (const source of provisioning.datasources ?? [])
        reachable(`grafana data source ${source.name}`, "url", source.url);
      for (const provider of provisioning.providers ?? []) {
        const path = provider.options?.path as string;
        if (
          ![...mounts.keys()].some(
            (mounted) => mounted.startsWith(`${path}/`) && mounted.endsWith(".json"),
          )
        )
          problems.push(`grafana provider ${provider.name}: no dashboard mounted in ${path}`);
      }
    }
  }
  return { problems, mounts, services };
}
