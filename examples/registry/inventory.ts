// examples/registry/inventory.ts
// The inventory service: GET /stock/:item says how many are in stock. It listens on any free
// port (PORT to choose one) and registers itself, so the gateway and orders find it.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { register, traceHandler } from "gatehouse-gateway/sdk";

const stock: Record<string, number> = { "42": 7, "43": 0 };

const server = createServer(
  traceHandler((req, res) => {
    const item = /^\/stock\/(\w+)$/.exec(req.url ?? "")?.[1];
    const count = item === undefined ? undefined : stock[item];
    res.writeHead(count === undefined ? 404 : 200, { "content-type": "application/json" });
    res.end(JSON.stringify(count === undefined ? { error: "no such item" } : { item, count }));
  }),
);
await new Promise<void>((resolve) =>
  server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", resolve),
);

// GATEHOUSE_REGISTRY says where the registry is. On Ctrl-C or SIGTERM the instance
// deregisters, the requests it is serving finish, and the process ends.
const { port } = server.address() as AddressInfo;
const registration = await register({ name: "inventory", port, version: "1.0.0" });
console.log(`inventory: registered ${registration.id} (${registration.lease?.url})`);
