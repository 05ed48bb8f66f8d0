/**
 * @module examples/shop/services
 * The five shop services by name, each started by its `start<Name>(env)`.
 */
import { startInventory } from "./inventory.ts";
import { startOrders } from "./orders.ts";
import { startPayments } from "./payments.ts";
import { startProducts } from "./products.ts";
import type { ShopServiceName } from "./shared/protos.ts";
import type { ShopEnv } from "./shared/service-env.ts";
import type { RunningService } from "./shared/service-runtime.ts";
import { startUsers } from "./users.ts";

export type { ShopServiceName } from "./shared/protos.ts";
export {
  dataRootOf,
  defaultJwksPort,
  defaultPorts,
  type ShopEnv,
} from "./shared/service-env.ts";
export type { RunningService } from "./shared/service-runtime.ts";

/** Each service's start function, in the order the host starts them. */
export const starters: Record<ShopServiceName, (env: ShopEnv) => Promise<RunningService>> = {
  inventory: startInventory,
  payments: startPayments,
  products: startProducts,
  users: startUsers,
  orders: startOrders,
};

/** The registry the services use when the environment names none: the gateway's, on 9900. */
export const defaultRegistry = "http://127.0.0.1:9900";

/** The environment with the registry defaulted (unless etcd is named). */
export function withDefaults(env: ShopEnv): ShopEnv {
  if (env.GATEHOUSE_REGISTRY || env.ETCD_URL) return env;
  return { ...env, GATEHOUSE_REGISTRY: defaultRegistry };
}
