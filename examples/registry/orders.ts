// examples/registry/orders.ts
// The orders service: GET /:id (the gateway strips /orders) answers an order with whether
// inventory has its items, asked through a service client. It registers itself as inventory does.
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { register, ServiceCallError, serviceClient, traceHandler } from "gatehouse-gateway/sdk";

const orders: Record<string, { item: string; quantity: number }> = {
  "1": { item: "42", quantity: 2 },
  "2": { item: "43", quantity: 1 },
};

// Balanced, retried and broken as the gateway does, over the instances the registry has.
const inventory = serviceClient("inventory", { timeout: "2s", retries: 2 });

function send(res: ServerResponse, status: number, body: object): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

const server = createServer(
  traceHandler(async (req, res) => {
    const id = req.url?.slice(1) ?? "";
    const order = orders[id];
    if (!order) return send(res, 404, { error: "no such order" });
    try {
      const { count } = await inventory.get<{ count: number }>(`/stock/${order.item}`);
      send(res, 200, { id, ...order, inStock: count >= order.quantity });
    } catch (error) {
      if (!(error instanceof ServiceCallError)) throw error;
      // A code from the gateway's error catalogue: here, no inventory instance to ask.
      send(res, 503, { id, error: error.code });
    }
  }),
);
await new Promise<void>((resolve) =>
  server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", resolve),
);

const { port } = server.address() as AddressInfo;
const registration = await register({ name: "orders", port, version: "1.0.0" });
console.log(`orders: registered ${registration.id} (${registration.lease?.url})`);
