// The shop's services as external mode runs them: each with its store on PostgreSQL and its
// events over NATS JetStream, two instances of payments and of inventory sharing their
// service's tables, all registered in one gateway's registry (shop-services.case.ts). They
// run in this process, but share nothing in it: every event crosses NATS. One payments
// instance fails every charge (PAYMENTS_FAIL_RATE=1), and the suite passes all the same.
import { starters } from "../../examples/shop/services/index.ts";
import { startNatsServer } from "../helpers/nats-server.ts";
import { createTestDatabase } from "../helpers/postgres.ts";
import { describeShopServices, freePortsEnv, type StartedShop } from "./shop-services.case.ts";

describeShopServices("the shop's services, external", async (registryUrl) => {
  const [database, nats] = await Promise.all([createTestDatabase(), startNatsServer()]);
  const env = { ...freePortsEnv(registryUrl), DATABASE_URL: database.url, NATS_URL: nats.url };
  const running: Awaited<ReturnType<(typeof starters)["users"]>>[] = [];
  const close = async () => {
    for (const service of running.toReversed()) await service.close();
    await nats.remove();
    await database.drop();
  };
  try {
    // The second instances start together with the first: their tables are made once.
    running.push(
      ...(await Promise.all([starters.inventory(env), starters.inventory(env)])),
      // One payments instance fails every charge (UNAVAILABLE, before charging): the
      // orders' client retries those on the other, so no order fails and none pays twice.
      ...(await Promise.all([
        starters.payments({ ...env, PAYMENTS_DELAY: "10ms" }),
        starters.payments({ ...env, PAYMENTS_FAIL_RATE: "1" }),
      ])),
    );
    for (const name of ["products", "users", "orders"] as const)
      running.push(await starters[name](env));
  } catch (error) {
    await close();
    throw error;
  }
  const services = Object.fromEntries(
    running.toReversed().map((service) => [service.name, service]),
  ) as StartedShop["services"];
  return {
    services,
    instances: { users: 1, products: 1, orders: 1, payments: 2, inventory: 2 },
    close,
  };
});
