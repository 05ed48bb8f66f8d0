/**
 * @module examples/quickstart
 * `npm start`: starts the two demo services, then Gatehouse with examples/quickstart.yaml.
 * Every port can be moved by an environment variable (`ports` below, listed in README.md);
 * one that is taken is reported in one line naming the variable to set.
 */
import { fileURLToPath } from "node:url";
import { ConfigError, formatProblem } from "../src/config/load.ts";
import { Gateway } from "../src/gateway.ts";
import { validateConfigFile } from "../src/runtime/validate.ts";
import { busyListener } from "../src/server/busy-port.ts";
import { type DemoService, startDemoService } from "./demo/service.ts";

/** The quickstart's ports: what listens there, the variable that moves it, its default. */
const ports = {
  proxy: { variable: "GATEHOUSE_PORT", port: 8080 },
  status: { variable: "GATEHOUSE_STATUS_PORT", port: 9901 },
  admin: { variable: "GATEHOUSE_ADMIN_PORT", port: 9902 },
  users: { variable: "DEMO_USERS_PORT", port: 9001 },
  products: { variable: "DEMO_PRODUCTS_PORT", port: 9002 },
};
type PortName = keyof typeof ports;

for (const entry of Object.values(ports)) {
  const text = process.env[entry.variable];
  if (text === undefined || text === "") continue;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535)
    exit(`${entry.variable} must be a port number (0-65535), not "${text}"`);
  entry.port = Number(text);
}

/** Exits with one line: a port in use names its variable; anything else is said as it is. */
function fail(error: unknown, names: PortName[]): never {
  const listeners = names.map((name) => ({ name, ...ports[name] }));
  const busy = busyListener(error, listeners);
  if (!busy) exit(`cannot start: ${(error as Error).message}`);
  exit(
    `port ${busy.port} (${busy.name}, ${busy.variable}) is in use: set ${busy.variable} to another port`,
  );
}

function exit(message: string): never {
  console.error(message);
  process.exit(1);
}

const startDemo = (name: "users" | "products", items: Record<string, unknown>[]) =>
  startDemoService(name, ports[name].port, items).then(
    (service: DemoService) => {
      // The config's targets read the same variables: give them the port actually bound.
      process.env[ports[name].variable] = String(service.port);
      return service;
    },
    (error: unknown) => fail(error, [name]),
  );

const users = await startDemo("users", [
  { id: 1, name: "Ada Lovelace", email: "ada@example.com" },
  { id: 2, name: "Alan Turing", email: "alan@example.com" },
]);
const products = await startDemo("products", [
  { id: 1, name: "Keyboard", price: 49 },
  { id: 2, name: "Monitor", price: 199 },
]);

const file = fileURLToPath(new URL("./quickstart.yaml", import.meta.url));
let gateway: Gateway;
try {
  gateway = new Gateway(await validateConfigFile(file));
} catch (error) {
  if (!(error instanceof ConfigError)) exit(`cannot start: ${(error as Error).message}`);
  for (const problem of error.problems) console.error(formatProblem(problem));
  process.exit(1);
}
try {
  await gateway.start();
} catch (error) {
  fail(error, ["proxy", "status", "admin"]);
}
const addresses = gateway.addresses();
const proxy = `http://127.0.0.1:${addresses.proxy[0]!.port}`;
const status = `http://127.0.0.1:${addresses.status!.port}`;
const admin = `http://127.0.0.1:${addresses.admin!.port}`;
console.log(`Gatehouse is listening on ${proxy} (status on ${status}, admin API on ${admin})
  curl ${proxy}/api/users
  curl ${proxy}/api/products/2
  curl ${proxy}/v2/catalog/1
  curl -X POST -d '{"name":"Grace Hopper"}' ${proxy}/api/users
  curl -H 'X-Api-Key: demo-key-123' ${proxy}/admin/users
  curl ${status}/metrics
  curl ${admin}/routes
The dashboard: ${admin}/ui/
Press Ctrl+C to stop.`);

const stop = async () => {
  await gateway.stop();
  users.server.close();
  products.server.close();
  process.exit(0);
};
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
