/**
 * @module examples/shop/host
 * Embedded mode: one process hosting all five shop services, each on its own gRPC port with
 * its own PGlite store (SHOP_DATA_DIR/<name>, default examples/shop/data/<name>) and its
 * own registration, sharing the SDK's embedded event transport. The registry is the
 * gateway's (GATEHOUSE_REGISTRY, default http://127.0.0.1:9900), so start the gateway first.
 *
 *   node examples/shop/host.ts
 *
 * Ctrl-C (or SIGTERM) deregisters every service, lets the calls in flight finish, and exits.
 */
import { fileURLToPath } from "node:url";
import { flushTelemetry } from "gatehouse-gateway/sdk";
import { prepareDataDirs } from "./data-dirs.ts";
import {
  dataRootOf,
  type RunningService,
  type ShopEnv,
  type ShopServiceName,
  starters,
  withDefaults,
} from "./services/index.ts";

/** The five services running in this process. */
export interface ShopHost {
  services: Record<ShopServiceName, RunningService>;
  /** Closes every service (orders first, inventory last). */
  close(): Promise<void>;
}

/**
 * Starts the five services in this process. `env` is `process.env` or what a test gives:
 * `<NAME>_PORT` (0 for free ports), USERS_JWKS_PORT, SHOP_DATA_DIR, GATEHOUSE_REGISTRY,
 * PAYMENTS_FAIL_RATE, PAYMENTS_DELAY. Without DATABASE_URL and NATS_URL: PGlite and the
 * embedded transport.
 */
export async function startShopHost(env: ShopEnv): Promise<ShopHost> {
  const full = withDefaults(env);
  if (!full.DATABASE_URL) await prepareDataDirs(dataRootOf(full), Object.keys(starters));
  const running: RunningService[] = [];
  const close = async () => {
    for (const service of running.toReversed()) await service.close();
  };
  // One after another: each PGlite store's start is CPU-bound, and on a small machine five
  // at once take longer than five in turn.
  try {
    for (const start of Object.values(starters)) running.push(await start(full));
  } catch (error) {
    await close();
    throw error;
  }
  return {
    services: Object.fromEntries(
      running.map((service) => [service.name, service]),
    ) as ShopHost["services"],
    close,
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // One process, one OpenTelemetry resource: without a name of its own the spans of all
  // five would be exported under the first registered service's name. The span names
  // (`shop.orders.v1.OrderService/PlaceOrder`) say which service each one is.
  process.env.OTEL_SERVICE_NAME ||= "shop";
  const startedAt = Date.now();
  const host = await startShopHost(process.env);
  for (const service of Object.values(host.services)) {
    const jwks = service.jwksUrl ? ` (JWKS ${service.jwksUrl})` : "";
    console.log(`shop: ${service.name} on ${service.url}${jwks}`);
  }
  console.log(`shop: five services ready in ${Date.now() - startedAt} ms`);
  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    console.log(`shop: ${signal}, stopping`);
    await host.close();
    await flushTelemetry();
    process.exit(0);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}
