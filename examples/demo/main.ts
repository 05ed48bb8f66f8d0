/**
 * @module examples/demo/main
 * One demo service as a process of its own, for containers (deploy/compose):
 * `node examples/demo/main.ts users|products PORT [HOST]` (HOST defaults to 0.0.0.0).
 */
import { startDemoService } from "./service.ts";

const catalogue: Record<string, Record<string, unknown>[]> = {
  users: [
    { id: 1, name: "Ada Lovelace", email: "ada@example.com" },
    { id: 2, name: "Alan Turing", email: "alan@example.com" },
  ],
  products: [
    { id: 1, name: "Keyboard", price: 49 },
    { id: 2, name: "Monitor", price: 199 },
  ],
};

const [name = "", port = "", host = "0.0.0.0"] = process.argv.slice(2);
const items = catalogue[name];
if (items === undefined || !/^\d+$/.test(port)) {
  console.error("usage: node examples/demo/main.ts users|products PORT [HOST]");
  process.exit(2);
}
const service = await startDemoService(name, Number(port), items, host).catch((error: Error) => {
  console.error(`demo service ${name}: cannot listen on ${host}:${port}: ${error.message}`);
  process.exit(1);
});
console.log(`demo service ${name} listening on ${host}:${service.port}`);
// A container stops with SIGTERM; without a handler Node would ignore it as PID 1.
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => service.server.close(() => process.exit(0)));
}
