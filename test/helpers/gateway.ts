/**
 * @module test/helpers/gateway
 * Starts a real Gatehouse on free loopback ports from a config object or YAML text.
 */
import type { GatehouseConfigInput } from "../../src/config/schema/index.ts";
import { Gateway } from "../../src/gateway.ts";
import { createGateway } from "../../src/index.ts";
import type { PluginDefinition } from "../../src/pipeline/plugin.ts";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";

export interface RunningGateway {
  gateway: Gateway;
  port: number;
  url: string;
  statusUrl: string;
  stop(): Promise<void>;
}

/** A config with one listener and the status listener on free ports, plus `extra`. */
export function testConfig(
  extra: Omit<GatehouseConfigInput, "gateway"> & {
    gateway?: Partial<GatehouseConfigInput["gateway"]>;
  },
): GatehouseConfigInput {
  return {
    ...extra,
    gateway: {
      listen: [{ host: "127.0.0.1", port: 0 }],
      status: { host: "127.0.0.1", port: 0 },
      shutdownTimeout: "2s",
      // Tests that read the access log turn it on with a file; the rest keep stdout clean.
      accessLog: { enabled: false },
      // Tests that assert on the process log point it at a file; the rest keep it quiet.
      log: { level: "silent" },
      ...extra.gateway,
    },
  };
}

/** Validates the config exactly as the CLI does, then starts the gateway. */
export async function startGateway(config: GatehouseConfigInput | string): Promise<RunningGateway> {
  const text = typeof config === "string" ? config : JSON.stringify(config);
  const gateway = new Gateway(parseGatewayConfig(text, "test-config.yaml", {}));
  await gateway.start();
  const { proxy, status } = gateway.addresses();
  const port = proxy[0]!.port;
  return {
    gateway,
    port,
    url: `http://127.0.0.1:${port}`,
    statusUrl: `http://127.0.0.1:${status?.port}`,
    stop: () => gateway.stop(),
  };
}

/** A gateway with one service (the given upstream URLs) and one catch-all route named "all". */
export function startSimpleGateway(
  targets: string[],
  route: Record<string, unknown> = {},
  gateway: Partial<GatehouseConfigInput["gateway"]> = {},
  service: Record<string, unknown> = {},
): Promise<RunningGateway> {
  return startGateway(
    testConfig({
      gateway,
      services: [{ name: "svc", targets: targets.map((url) => ({ url })), ...service }],
      routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc", ...route }],
    }),
  );
}

type RouteInput = NonNullable<GatehouseConfigInput["routes"]>[number];

/**
 * A started gateway (from code, as `createGateway` makes one) with one service `s` (the
 * upstream at `url`) and one catch-all route `r` running `plugins`, besides the built-ins
 * the plugins of `definitions`; `route` adds to the route (e.g. `websocket: true`).
 */
export function createPluginGateway(
  url: string,
  plugins: NonNullable<RouteInput["plugins"]>,
  definitions: readonly PluginDefinition[],
  route: Partial<RouteInput> = {},
): Promise<Gateway> {
  return createGateway(
    testConfig({
      services: [{ name: "s", targets: [{ url }] }],
      routes: [{ name: "r", match: { paths: ["/*"] }, service: "s", plugins, ...route }],
    }),
    { plugins: definitions },
  );
}
