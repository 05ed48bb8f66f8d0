/**
 * @module shop/services/web
 * The `web` service: the shop's front end (examples/shop/web/) served over plain HTTP by a
 * small node:http static server, registered in the registry as `web` (protocol http) so the
 * gateway finds it by discovery and routes `/` to it like any other service. The gateway has
 * no static-file plugin: serving files is a service's job, and this one is the smallest.
 *
 * Run alone: `node examples/shop/services/web.ts` (SHOP_WEB_PORT, GATEHOUSE_REGISTRY).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { register, traceHandler } from "gatehouse-gateway/sdk";
import { createStaticHandler } from "./web-files.ts";

/** The folder the front end lives in. */
export const webFolder = fileURLToPath(new URL("../web/", import.meta.url));

/** The port the web service listens on unless SHOP_WEB_PORT says otherwise. */
export const defaultWebPort = 8081;

/** A started web service. */
export interface RunningWeb {
  name: "web";
  /** The port it listens on (127.0.0.1). */
  port: number;
  /** Deregisters, then stops listening once the requests being served are done. */
  close(): Promise<void>;
}

/**
 * Starts the web service on 127.0.0.1:`SHOP_WEB_PORT` (0 picks a free port) and registers it with
 * the registry at `GATEHOUSE_REGISTRY` (+ `GATEHOUSE_REGISTRY_KEY`).
 * @param env where SHOP_WEB_PORT and the registry's variables are read from
 * @param options.handleSignals deregister and stop on SIGTERM/SIGINT (default true; a host
 *   that stops its services itself passes false)
 */
export async function startWeb(
  env: NodeJS.ProcessEnv = process.env,
  options: { handleSignals?: boolean } = {},
): Promise<RunningWeb> {
  const server = createServer(traceHandler(createStaticHandler(webFolder)));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(Number(env.SHOP_WEB_PORT ?? defaultWebPort), "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  try {
    const registration = await register({
      name: "web",
      port,
      protocol: "http",
      registry: env.GATEHOUSE_REGISTRY,
      key: env.GATEHOUSE_REGISTRY_KEY,
      handleSignals: options.handleSignals,
      healthCheck: { path: "/index.html", interval: "5s" },
    });
    return {
      name: "web",
      port,
      async close() {
        await registration.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  } catch (error) {
    server.close();
    throw error;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const web = await startWeb();
  console.log(`web: serving ${webFolder} on http://127.0.0.1:${web.port}`);
}
