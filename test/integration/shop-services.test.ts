// The shop's five services hosted in this process as `npm run shop` hosts them: PGlite in a
// temporary directory, the embedded event transport, free ports (shop-services.case.ts).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startShopHost } from "../../examples/shop/host.ts";
import { describeShopServices, freePortsEnv } from "./shop-services.case.ts";

describeShopServices("the shop's services, embedded", async (registryUrl) => {
  const dataDir = await mkdtemp(join(tmpdir(), "shop-services-"));
  const host = await startShopHost({ ...freePortsEnv(registryUrl), SHOP_DATA_DIR: dataDir });
  return {
    services: host.services,
    instances: { users: 1, products: 1, orders: 1, payments: 1, inventory: 1 },
    async close() {
      await host.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
});
