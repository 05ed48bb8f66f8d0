/**
 * @module shop/services/web
 * The `web` service: the shop's front end (examples/shop/web/) served over plain HTTP by a
 * small node:http static server, registered in the registry as `web` (protocol http) so the
 * gateway finds it by discovery and routes `/` to it like any other service. The gateway has
 * no static-file plugin: serving files is a service's job, and this one is the smallest.
 *
 * Run alone (external mode, compose): `node examples/shop/services/web.ts`; SIGINT or
 * SIGTERM deregisters it and stops it.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { register, traceHandler } from "gatehouse-gateway/sdk";
import { type ShopEnv, withDefaults } from "./index.ts";
import { advertisedAddressOf, listenHostOf, portFrom } from "./shared/service-env.ts";
import { registryOptions } from "./shared/service-runtime.ts";
import { createStaticHandler } from "./web-files.ts";

/** The folder the front end lives in. */
export const webFolder = fileURLToPath(new URL("../web/", import.meta.url));

/** The port the web service listens on unless SHOP_WEB_PORT says otherwise. */
export const defaultWebPort = 8081;

/** A started web service. */
export interface RunningWeb {
  name: "web";
  /** The port it listens on. */
  port: number;
  /** `http://<address>:<port>`, as registered (the listening address when none is advertised). */
  url: string;
  /** Deregisters, then stops listening once the requests being served are done. */
  close(): Promise<void>;
}

/**
 * Starts the web service on `SHOP_LISTEN_HOST` (default 127.0.0.1):`SHOP_WEB_PORT` (0 picks
 * a free port) and registers it as `web` through `GATEHOUSE_REGISTRY` (+
 * `GATEHOUSE_REGISTRY_KEY`, default the gateway's on :9900) or straight in etcd at
 * `ETCD_URL`, under `SHOP_ADVERTISE_HOST` (else as the shop's services choose).
 * @param env where those variables are read from
 * @param options.handleSignals deregister and stop on SIGTERM/SIGINT (default true; a
 *   launcher that stops its services itself passes false)
 */
export async function startWeb(
  env: ShopEnv = process.env,
  options: { handleSignals?: boolean } = {},
): Promise<RunningWeb> {
  const host = listenHostOf(env);
  const address = advertisedAddressOf(env);
  const server = createServer(traceHandler(createStaticHandler(webFolder)));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(portFrom(env, "SHOP_WEB_PORT", defaultWebPort), host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  try {
    const registration = await register({
      ...registryOptions(withDefaults(env)),
      name: "web",
      port,
      address,
      protocol: "http",
      version: "1.0.0",
      handleSignals: options.handleSignals,
      healthCheck: { path: "/index.html", interval: "5s" },
    });
    return {
      name: "web",
      port,
      url: `http://${address ?? host}:${port}`,
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
  console.log(`shop: web on ${web.url} (serving ${webFolder})`);
}
