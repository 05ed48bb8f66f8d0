// HTTP/2 on the proxy listeners over real sockets: h2c with prior knowledge and h2 by ALPN
// over TLS, with Node's http2 client and curl, HTTP/1.1 still served on both ports, and
// every feature the same as over HTTP/1.1: routing, plugins (key-auth, rate-limit),
// streaming both ways, errors in JSON with the request id, metrics and the access log.
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { type ClientHttp2Session, connect, type IncomingHttpHeaders } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Agent, request } from "undici";
import { type CertificateFiles, makeCertificate } from "../helpers/certificates.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { curl, type H2Answer, h2Request } from "../helpers/h2-client.ts";
import { frameType, getHeaders, rawH2 } from "../helpers/h2-frames.ts";
import { until } from "../helpers/until.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

describe("HTTP/2 downstream", () => {
  let dir: string;
  let cert: CertificateFiles;
  let up: Upstream;
  let gw: RunningGateway;
  let h2c: ClientHttp2Session;
  let h2: ClientHttp2Session;
  let plainPort: number;
  let tlsPort: number;
  let accessLog: string;
  /** Released by a test to let the streaming upstream send its second part. */
  let releaseStream: () => void = () => {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-h2-"));
    cert = makeCertificate(dir, "localhost", ["localhost", "127.0.0.1"]);
    accessLog = join(dir, "access.log");
    up = await startUpstream((req, res) => {
      if (req.url === "/stream") {
        res.writeHead(200, { "content-type": "text/plain" });
        res.write("first;");
        releaseStream = () => res.end("second");
        return;
      }
      if (req.url === "/hop") {
        res.writeHead(200, { connection: "close", "keep-alive": "timeout=5", "x-kept": "yes" });
        res.end("hop");
        return;
      }
      echo(req, res);
    });
    gw = await startGateway(
      testConfig({
        gateway: {
          listen: [
            { host: "127.0.0.1", port: 0, http2: true },
            {
              host: "127.0.0.1",
              port: 0,
              http2: true,
              tls: { certificates: [{ cert: cert.cert, key: cert.key }] },
            },
          ],
          accessLog: { enabled: true, destination: accessLog },
        },
        consumers: [{ name: "alice", credentials: { keys: ["alice-key-0001"] } }],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "keyed",
            match: { paths: ["/keyed/*"] },
            service: "svc",
            plugins: [{ name: "key-auth" }],
          },
          {
            name: "limited",
            match: { paths: ["/limited"] },
            service: "svc",
            plugins: [{ name: "rate-limit", config: { limit: 2, window: "1m" } }],
          },
          { name: "api", match: { paths: ["/api/*", "/stream", "/hop"] }, service: "svc" },
        ],
      }),
    );
    const [plain, secure] = gw.gateway.addresses().proxy;
    plainPort = plain!.port;
    tlsPort = secure!.port;
    h2c = connect(`http://127.0.0.1:${plainPort}`);
    h2 = connect(`https://localhost:${tlsPort}`, { ca: cert.pem });
  });

  after(async () => {
    h2c.close();
    h2.close();
    await gw.stop();
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("routes h2c (prior knowledge) and h2 (ALPN over TLS) requests, Host from :authority", async () => {
    const plain = await h2Request(h2c, { ":path": "/api/items?x=1", "x-request-id": "h2-one" });
    assert.equal(plain.status, 200);
    assert.equal(plain.headers["x-request-id"], "h2-one");
    const seen = JSON.parse(plain.body);
    assert.equal(seen.url, "/api/items?x=1");
    assert.equal(seen.headers["x-forwarded-host"], `127.0.0.1:${plainPort}`);
    assert.equal(seen.headers["x-forwarded-proto"], "http");
    assert.equal(seen.headers[":path"], undefined);

    const secure = await h2Request(h2, { ":path": "/api/secure", cookie: "a=1", Cookie: "b=2" });
    assert.equal(secure.status, 200);
    const secureSeen = JSON.parse(secure.body);
    assert.equal(secureSeen.headers["x-forwarded-proto"], "https");
    assert.equal(secureSeen.headers["x-forwarded-host"], `localhost:${tlsPort}`);
    // Cookie crumbs travel to the HTTP/1.1 upstream as one Cookie header.
    assert.equal(secureSeen.headers.cookie, "a=1; b=2");
  });

  it("still serves HTTP/1.1 on both ports", async () => {
    const plain = await request(`http://127.0.0.1:${plainPort}/api/one`);
    assert.equal(plain.statusCode, 200);
    assert.equal(JSON.parse(await plain.body.text()).url, "/api/one");
    const dispatcher = new Agent({ connect: { ca: cert.pem } });
    try {
      const secure = await request(`https://localhost:${tlsPort}/api/two`, { dispatcher });
      assert.equal(secure.statusCode, 200);
      assert.equal(JSON.parse(await secure.body.text()).headers["x-forwarded-proto"], "https");
    } finally {
      await dispatcher.close();
    }
  });

  it("answers curl --http2-prior-knowledge, curl --http2 and curl --http1.1", async () => {
    const prior = await curl(["--http2-prior-knowledge", `http://127.0.0.1:${plainPort}/api/c`]);
    assert.match(prior, /^HTTP\/2 200/);
    const alpn = await curl([
      "--http2",
      "--cacert",
      cert.cert,
      `https://localhost:${tlsPort}/api/c`,
    ]);
    assert.match(alpn, /^HTTP\/2 200/);
    const old = await curl(["--http1.1", `http://127.0.0.1:${plainPort}/api/c`]);
    assert.match(old, /^HTTP\/1\.1 200/);
  });

  it("runs key-auth and rate-limit as over HTTP/1.1", async () => {
    const refused = await h2Request(h2c, { ":path": "/keyed/x" });
    assert.equal(refused.status, 401);
    const error = JSON.parse(refused.body).error;
    assert.equal(error.code, "GATEHOUSE_UNAUTHORIZED");
    assert.equal(error.requestId, refused.headers["x-request-id"]);
    const admitted = await h2Request(h2c, { ":path": "/keyed/x", "x-api-key": "alice-key-0001" });
    assert.equal(admitted.status, 200);
    assert.equal(JSON.parse(admitted.body).headers["x-consumer-name"], "alice");

    const statuses = [];
    for (let i = 0; i < 3; i++)
      statuses.push((await h2Request(h2, { ":path": "/limited" })).status);
    assert.deepEqual(statuses, [200, 200, 429]);
  });

  it("answers errors in JSON with the request id", async () => {
    const missing = await h2Request(h2c, { ":path": "/nowhere", "x-request-id": "h2-missing" });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(missing.body).error, {
      code: "GATEHOUSE_ROUTE_NOT_FOUND",
      message: JSON.parse(missing.body).error.message,
      requestId: "h2-missing",
    });
    const tunnel = await new Promise<H2Answer>((resolve, reject) => {
      const stream = h2c.request({ ":method": "CONNECT", ":authority": "example.com:443" });
      let head: IncomingHttpHeaders = {};
      let text = "";
      stream.on("response", (received) => {
        head = received;
      });
      stream.on("data", (chunk) => {
        text += chunk;
      });
      stream.on("close", () =>
        resolve({ status: Number(head[":status"]), headers: head, body: text }),
      );
      stream.on("error", reject);
    });
    assert.equal(tunnel.status, 405);
    assert.equal(JSON.parse(tunnel.body).error.code, "GATEHOUSE_METHOD_NOT_ALLOWED");
  });

  it("refuses a Host header that names another authority than :authority with 400", async () => {
    const raw = await rawH2(plainPort);
    try {
      raw.send(
        getHeaders(1, "/api/x", { authority: "a.example", fields: [["host", "b.example"]] }),
      );
      await until(() => raw.frames.some((f) => f.type === frameType.headers), "the answer");
      const head = raw.frames.find((f) => f.type === frameType.headers)!;
      // `:status: 400` is entry 12 of HPACK's static table.
      assert.equal(head.payload[0], 0x80 | 12);
    } finally {
      raw.socket.destroy();
    }
  });

  it("streams a response as it comes, and a request body of unknown length", async () => {
    const stream = h2c.request({ ":path": "/stream" }, { endStream: true });
    const first = await new Promise<string>((resolve) =>
      stream.once("data", (d) => resolve(`${d}`)),
    );
    assert.equal(first, "first;");
    let rest = "";
    stream.on("data", (chunk) => {
      rest += chunk;
    });
    const ended = new Promise((resolve) => stream.once("end", resolve));
    releaseStream();
    await ended;
    assert.equal(rest, "second");

    const upload = await h2Request(h2c, { ":path": "/api/upload", ":method": "POST" }, [
      "part one, ",
      "part two",
    ]);
    assert.equal(upload.status, 200);
    assert.equal(JSON.parse(upload.body).bodySize, "part one, part two".length);
  });

  it("drops an upstream's connection-specific headers from HTTP/2 answers", async () => {
    const hop = await h2Request(h2c, { ":path": "/hop" });
    assert.equal(hop.status, 200);
    assert.equal(hop.body, "hop");
    assert.equal(hop.headers["x-kept"], "yes");
    assert.equal(hop.headers.connection, undefined);
    assert.equal(hop.headers["keep-alive"], undefined);
  });

  it("counts HTTP/2 requests in the metrics and writes their access-log lines", async () => {
    await h2Request(h2c, { ":path": "/api/counted", "x-request-id": "h2-counted" });
    const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
    const count =
      /gatehouse_requests_total\{route="api",service="svc",method="GET",status_class="2xx"\} (\d+)/.exec(
        metrics,
      );
    assert.ok(count && Number(count[1]) >= 3, "HTTP/2 requests are counted on their route");
    assert.match(metrics, /gatehouse_http2_sessions_closed_total\{reason="resets"\} 0/);
    await until(
      async () => (await readFile(accessLog, "utf8").catch(() => "")).includes("h2-counted"),
      "the access-log line",
    );
    const line = (await readFile(accessLog, "utf8"))
      .split("\n")
      .filter((text) => text.includes("h2-counted"))
      .map((text) => JSON.parse(text))[0];
    assert.equal(line.status, 200);
    assert.equal(line.route, "api");
    assert.equal(line.path, "/api/counted");
  });
});
