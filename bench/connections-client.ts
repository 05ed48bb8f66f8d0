/**
 * @module bench/connections-client
 * The processes of the connections bench (bench/connections.ts), one role per run:
 * - `hold PORT PATH COUNT`: opens COUNT keep-alive connections to 127.0.0.1:PORT from the
 *   loopback addresses 127.0.0.2 to 127.0.0.250 (one address's ports run out near 28,000),
 *   sends one GET on each, reads its answer and leaves the connection idle;
 * - `tunnels PORT PATH COUNT`: opens COUNT WebSocket tunnels the same way, each reading the
 *   greeting frame the echo upstream sends, then idle;
 * - `echo PORT`: the WebSocket upstream: answers every upgrade with 101 and one small frame.
 * A client prints `opened <n> failed <m> closed <k> ms <t>` once every connection has been
 * tried, then `closed <k>` each second in which held ones closed, and holds the rest until
 * it is killed. Every connection is tried once, a few hundred at a time, bounded in time.
 */
import { createHash } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";

const inFlight = 256;
const answerTimeoutMs = 10_000;
const firstSource = 2;
const lastSource = 250;

/** What a client connection has to send and see before it counts as open. */
interface Exchange {
  request: string;
  /** Whether the answer so far is a good one; undefined while more of it is needed. */
  judge(answer: string): boolean | undefined;
}

const held: Socket[] = [];
let closed = 0;

function sourceAddress(i: number): string {
  return `127.0.0.${firstSource + (i % (lastSource - firstSource + 1))}`;
}

/** One connection: true once its answer began with `expected`, then held idle. */
function open(port: number, i: number, exchange: Exchange): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, localAddress: sourceAddress(i) });
    let answer = "";
    let settled = false;
    const timer = setTimeout(() => finish(false), answerTimeoutMs);
    function finish(ok: boolean): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!ok) socket.destroy();
      else {
        held.push(socket);
        socket.once("close", () => closed++);
      }
      resolve(ok);
    }
    socket.setNoDelay(true);
    socket.on("error", () => finish(false));
    socket.once("connect", () => socket.write(exchange.request));
    socket.on("data", function read(chunk: Buffer) {
      // Only the start of the answer matters; a held connection reads nothing more.
      answer += chunk.toString("latin1");
      const good = exchange.judge(answer);
      if (good === undefined) return;
      socket.off("data", read);
      socket.on("data", () => {});
      finish(good);
    });
  });
}

async function openAll(port: number, count: number, exchange: Exchange): Promise<void> {
  const started = Date.now();
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < count) {
      if (!(await open(port, next++, exchange))) failed++;
    }
  };
  // Progress, so a run that is too slow says how far it got.
  const progress = setInterval(
    () => console.log(`progress ${held.length} failed ${failed}`),
    5_000,
  );
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
  clearInterval(progress);
  console.log(`opened ${held.length} failed ${failed} closed ${closed} ms ${Date.now() - started}`);
  let reported = closed;
  setInterval(() => {
    if (closed === reported) return;
    reported = closed;
    console.log(`closed ${closed}`);
  }, 1_000);
}

/** Answers every upgrade with 101 and a one-frame greeting, then keeps the socket idle. */
function echoServer(port: number): void {
  const server = createServer((_req, res) => {
    res.writeHead(426).end();
  });
  server.on("upgrade", (req: IncomingMessage, socket: Socket) => {
    const accept = createHash("sha1")
      .update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest("base64");
    socket.on("error", () => socket.destroy());
    socket.on("data", () => {});
    // node:http leaves an upgraded socket half open: the client's end ends it here too.
    socket.on("end", () => socket.end());
    socket.write(
      "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n\x81\x02hi`,
      "latin1",
    );
  });
  server.listen({ host: "127.0.0.1", port, backlog: 4096 }, () => console.log("listening"));
}

const [role, portText, path, countText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
if (role === "echo") echoServer(port);
else if (role === "hold")
  void openAll(port, count, {
    request: `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`,
    judge: (answer) => (answer.length < 12 ? undefined : answer.startsWith("HTTP/1.1 200")),
  });
else if (role === "tunnels")
  void openAll(port, count, {
    request:
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    // The 101 head, then the upstream's greeting frame through the tunnel.
    judge: (answer) => {
      if (answer.length >= 12 && !answer.startsWith("HTTP/1.1 101")) return false;
      return answer.endsWith("\r\n\r\n\x81\x02hi") ? true : undefined;
    },
  });
else {
  console.error("usage: connections-client.ts hold|tunnels PORT PATH COUNT | echo PORT");
  process.exit(2);
}
