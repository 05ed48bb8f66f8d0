/**
 * @module examples/shop/launch/plan
 * What `npm run shop` starts, worked out from the environment before anything starts: the
 * mode, the ports (each moved by its variable), the gateway's command line, and the service
 * processes: one host for all five (embedded), or one process per service with a second
 * instance of payments and inventory (external). A mistake is a message, not a crash.
 */
import { fileURLToPath } from "node:url";

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

/** The shop's folder, and the files the launcher starts. */
export const shopDir = here("../");
export const gatewayCli = here("../../../bin/gatehouse.js");
export const gatewayConfig = here("../gatehouse.yaml");
export const hostScript = here("../host.ts");
export const serviceScript = here("../service.ts");

/** The variables external mode needs, with an example of each. */
export const externalNeeds = {
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/shop",
  NATS_URL: "nats://127.0.0.1:4222",
  ETCD_URL: "http://127.0.0.1:2379",
} as const;

/** One service process to start. */
export interface ServiceProcess {
  /** For output and logs: `payments`, `payments#2`, or `services` for the embedded host. */
  label: string;
  args: string[];
  /** Variables this process gets on top of the shared ones. */
  env: Record<string, string>;
}

/** Everything the launcher starts, and where. */
export interface LaunchPlan {
  mode: "embedded" | "external";
  host: string;
  ports: { gateway: number; status: number; admin: number; web: number; jwks: number };
  /** Variables every child gets on top of the launcher's own environment. */
  env: Record<string, string>;
  gatewayArgs: string[];
  services: ServiceProcess[];
}

/** The plan for `env`, or the problems that stop it (each a sentence for the user). */
export function launchPlan(env: NodeJS.ProcessEnv): LaunchPlan | { problems: string[] } {
  const problems: string[] = [];
  const mode = env.SHOP_MODE || "embedded";
  if (mode !== "embedded" && mode !== "external") {
    problems.push(`SHOP_MODE must be "embedded" (the default) or "external", got "${mode}"`);
  }
  const port = (variable: string, fallback: number): number => {
    const text = env[variable];
    if (text === undefined || text === "") return fallback;
    const value = Number(text);
    if (Number.isInteger(value) && value > 0 && value <= 65535) return value;
    problems.push(`${variable} must be a port number (1-65535), got "${text}"`);
    return fallback;
  };
  const ports = {
    gateway: port("GATEHOUSE_PORT", 8080),
    status: port("GATEHOUSE_STATUS_PORT", 9901),
    admin: port("GATEHOUSE_ADMIN_PORT", 9900),
    web: port("SHOP_WEB_PORT", 8081),
    jwks: port("USERS_JWKS_PORT", 8090),
  };
  const secondPayments = port("PAYMENTS_PORT_2", 50064);
  const secondInventory = port("INVENTORY_PORT_2", 50065);
  if (mode === "external") {
    const missing = Object.keys(externalNeeds).filter((name) => !env[name]);
    if (missing.length > 0) {
      const example = Object.entries(externalNeeds)
        .map(([name, value]) => `${name}=${value}`)
        .join(" ");
      problems.push(
        `SHOP_MODE=external needs ${missing.join(", ")} (PostgreSQL, NATS with JetStream, etcd), e.g.\n  SHOP_MODE=external ${example} npm run shop\nor run the shop without them: npm run shop`,
      );
    }
  }
  if (problems.length > 0) return { problems };
  const host = "127.0.0.1";
  const shared: Record<string, string> = {
    SHOP_MODE: mode,
    GATEHOUSE_PORT: String(ports.gateway),
    GATEHOUSE_STATUS_PORT: String(ports.status),
    GATEHOUSE_ADMIN_PORT: String(ports.admin),
    SHOP_WEB_PORT: String(ports.web),
    USERS_JWKS_PORT: String(ports.jwks),
    // The services register with the gateway's registry API (on its admin listener).
    GATEHOUSE_REGISTRY: env.GATEHOUSE_REGISTRY || `http://${host}:${ports.admin}`,
  };
  const gatewayArgs = [gatewayCli, "start", "--config", gatewayConfig];
  if (mode === "external") gatewayArgs.push("--env", "external");
  const names = ["users", "products", "inventory", "payments", "orders"];
  const services: ServiceProcess[] =
    mode === "embedded"
      ? [{ label: "services", args: [hostScript], env: {} }]
      : [
          ...names.map((name) => ({ label: name, args: [serviceScript, name], env: {} })),
          {
            label: "payments#2",
            args: [serviceScript, "payments"],
            env: { PAYMENTS_PORT: String(secondPayments) },
          },
          {
            label: "inventory#2",
            args: [serviceScript, "inventory"],
            env: { INVENTORY_PORT: String(secondInventory) },
          },
        ];
  return { mode: mode as LaunchPlan["mode"], host, ports, env: shared, gatewayArgs, services };
}
