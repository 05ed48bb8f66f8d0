// Baseline: the honest minimal Node proxy — node:http server, one undici Pool, dispatch() streaming back.
import { createServer } from "node:http";
import { type Dispatcher, Pool } from "undici";

const upstream = process.env.UPSTREAM_URL ?? "http://127.0.0.1:8081";
const port = Number(process.env.PORT ?? 8080);
const pool = new Pool(upstream, { pipelining: 1, keepAliveTimeout: 4_000 });
const hopByHop = new Set(["connection", "keep-alive", "transfer-encoding", "upgrade"]);

function endToEnd(raw: (string | Buffer)[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i < raw.length; i += 2)
    if (!hopByHop.has(String(raw[i]).toLowerCase())) kept.push(String(raw[i]), String(raw[i + 1]));
  return kept;
}

createServer((req, res) => {
  const handler: Dispatcher.DispatchHandler = {
    onConnect() {},
    onHeaders(status, raw, resume) {
      res.writeHead(status, endToEnd(raw));
      res.on("drain", resume);
      return true;
    },
    onData: (chunk) => res.write(chunk),
    onComplete: () => res.end(),
    onError(error) {
      if (res.headersSent) res.destroy(error);
      else res.writeHead(502).end();
    },
  };
  const body = req.method === "GET" || req.method === "HEAD" ? null : req;
  const headers = endToEnd(req.rawHeaders);
  pool.dispatch(
    {
      origin: upstream,
      method: req.method as Dispatcher.HttpMethod,
      path: req.url!,
      headers,
      body,
    },
    handler,
  );
}).listen(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0)); // exit normally, so --cpu-prof can write its profile
