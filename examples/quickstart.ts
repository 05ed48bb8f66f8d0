/**
 * @module examples/quickstart
 * `npm start`: starts the two demo services, then Gatehouse with examples/quickstart.yaml.
 */
import { fileURLToPath } from "node:url";
import { ConfigError, formatProblem } from "../src/config/load.ts";
import { loadGatewayConfig } from "../src/config/validate.ts";
import { Gateway } from "../src/gateway.ts";
import { startDemoService } from "./demo/service.ts";

const users = await startDemoService("users", 9001, [
  { id: 1, name: "Ada Lovelace", email: "ada@example.com" },
  { id: 2, name: "Alan Turing", email: "alan@example.com" },
]);
const products = await startDemoService("products", 9002, [
  { id: 1, name: "Keyboard", price: 49 },
  { id: 2, name: "Monitor", price: 199 },
]);

const file = fileURLToPath(new URL("./quickstart.yaml", import.meta.url));
let gateway: Gateway;
try {
  gateway = new Gateway(await loadGatewayConfig(file));
} catch (error) {
  if (error instanceof ConfigError)
    for (const problem of error.problems) console.error(formatProblem(problem));
  process.exit(1);
}
await gateway.start();
const port = gateway.addresses().proxy[0]!.port;
console.log(`Gatehouse is listening on http://127.0.0.1:${port} (status on :9901, admin API on :9902)
  curl http://127.0.0.1:${port}/api/users
  curl http://127.0.0.1:${port}/api/products/2
  curl http://127.0.0.1:${port}/v2/catalog/1
  curl -X POST -d '{"name":"Grace Hopper"}' http://127.0.0.1:${port}/api/users
  curl -H 'X-Api-Key: demo-key-123' http://127.0.0.1:${port}/admin/users
  curl http://127.0.0.1:9901/metrics
  curl http://127.0.0.1:9902/routes
Press Ctrl+C to stop.`);

const stop = async () => {
  await gateway.stop();
  users.server.close();
  products.server.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
