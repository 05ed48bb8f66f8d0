/**
 * @module examples/demo/service
 * A tiny in-memory JSON service used by the quickstart: list, get and create items.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface DemoService {
  server: Server;
  port: number;
}

/** Starts a JSON service answering GET /, GET /:id and POST / for its items. */
export function startDemoService(
  name: string,
  port: number,
  items: Record<string, unknown>[],
  host = "127.0.0.1",
): Promise<DemoService> {
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { "content-type": "application/json", "x-served-by": name });
      res.end(text);
    };
    const path = (req.url ?? "/").split("?")[0]!.replace(/\/+$/, "") || "/";
    const id = path.split("/").filter(Boolean).at(-1);
    if (req.method === "GET" && path === "/health") return send(200, { status: "ok" });
    if (req.method === "GET" && (path === "/" || id === name)) return send(200, { [name]: items });
    if (req.method === "GET") {
      const item = items.find((candidate) => String(candidate.id) === id);
      return item ? send(200, item) : send(404, { error: `no ${name} with id ${id}` });
    }
    if (req.method === "POST") {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => {
        body += chunk;
      });
      req.on("end", () => {
        try {
          const item = { id: items.length + 1, ...JSON.parse(body || "{}") };
          items.push(item);
          send(201, item);
        } catch {
          send(400, { error: "body must be JSON" });
        }
      });
      return;
    }
    send(405, { error: "method not allowed" });
  });
  return new Promise((resolve, reject) => {
    // A port in use rejects (with listen()'s EADDRINUSE error) instead of crashing the process.
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve({ server, port: (server.address() as AddressInfo).port });
    });
  });
}
