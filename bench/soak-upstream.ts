/**
 * @module bench/soak-upstream
 * One target of the soak's upstream service, run as its own process so the soak can kill
 * it for real (SIGKILL) and start it again on the same port. Usage:
 * `node bench/soak-upstream.ts PORT NAME`. Answers the soak's traffic mix: small JSON,
 * a 10 KB JSON report (for compression), cacheable answers, POST echoes, `/health`, and a
 * WebSocket echo.
 */
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const port = Number(process.argv[2]);
const name = process.argv[3] ?? "target";
const small = JSON.stringify({ ok: true, target: name });
const report = JSON.stringify({
  target: name,
  rows: Array.from({ length: 120 }, (_, i) => ({ id: i, item: `item-${i}`, price: i * 1.25 })),
});

const server = createServer((req, res) => {
  const path = req.url ?? "/";
  if (req.method === "POST") {
    let bytes = 0;
    req.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on("end", () => {
      res.writeHead(201, { "content-type": "application/json" });
      res.end(JSON.stringify({ received: bytes, target: name }));
    });
    return;
  }
  req.resume();
  if (path === "/health") {
    res.end("ok");
  } else if (path.endsWith("/report")) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(report);
  } else if (path.startsWith("/cached/")) {
    // Short freshness, so the cache both hits and refills during the run.
    res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=2" });
    res.end(small);
  } else {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(small);
  }
});
server.keepAliveTimeout = 60_000;

const sockets = new WebSocketServer({ server });
sockets.on("connection", (socket) => {
  socket.on("message", (data, isBinary) => socket.send(data, { binary: isBinary }));
});

server.listen(port, "127.0.0.1", () => {
  process.stdout.write(`listening ${port}\n`);
});
