/**
 * @module examples/shop/service
 * External mode: one shop service per process.
 *
 *   DATABASE_URL=postgres://postgres@127.0.0.1/shop NATS_URL=nats://127.0.0.1:4222 \
 *   GATEHOUSE_REGISTRY=http://127.0.0.1:9900 node examples/shop/service.ts orders
 *
 * Its store is PostgreSQL at DATABASE_URL (its tables in schema `shop_<name>`, the SDK's in
 * `gatehouse_shop_<name>`), its events go over NATS JetStream at NATS_URL, and it registers
 * through GATEHOUSE_REGISTRY (or straight in etcd at ETCD_URL). `<NAME>_PORT` moves its
 * port: a second instance of a service needs its own. Ctrl-C or SIGTERM stops it cleanly.
 */
import { flushTelemetry } from "gatehouse-gateway/sdk";
import { type ShopServiceName, starters, withDefaults } from "./services/index.ts";

const name = process.argv[2] as ShopServiceName;
if (!(name in starters)) {
  console.error(`usage: node examples/shop/service.ts <${Object.keys(starters).join("|")}>`);
  process.exit(2);
}
const env = withDefaults(process.env);
if (!env.DATABASE_URL || !env.NATS_URL) {
  console.error(`shop ${name}: set DATABASE_URL and NATS_URL (or run examples/shop/host.ts)`);
  process.exit(2);
}
const service = await starters[name](env);
const jwks = service.jwksUrl ? ` (JWKS ${service.jwksUrl})` : "";
console.log(`shop: ${name} on ${service.url}${jwks}`);

let stopping = false;
const stop = async (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  console.log(`shop: ${name} ${signal}, stopping`);
  await service.close();
  await flushTelemetry();
  process.exit(0);
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
