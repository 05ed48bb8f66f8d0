// Header rewriting between client and upstream over real sockets: hop-by-hop headers,
// Connection-listed headers, X-Forwarded-*/Forwarded from trusted and untrusted peers,
// X-Request-Id, and the Host sent upstream.
import assert from "node:assert/strict";
import { createServer, type Server, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { type ParsedResponse, RawConnection } from "../helpers/raw-connection.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

/** What the echo upstream reports back. */
interface Echo {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  bodySize: number;
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Sends one raw request on a fresh connection and returns the response. */
async function send(port: number, request: string): Promise<ParsedResponse> {
  const connection = await RawConnection.open(port);
  try {
    await connection.write(request);
    return await connection.readResponse();
  } finally {
    connection.destroy();
  }
}

/** Sends a GET with the given raw header lines and returns what the upstream received. */
async function echoed(port: number, headerLines: string[], path = "/h"): Promise<Echo> {
  const response = await send(port, `GET ${path} HTTP/1.1\r\n${headerLines.join("\r\n")}\r\n\r\n`);
  assert.equal(response.status, 200, response.body);
  return JSON.parse(response.body) as Echo;
}

function routes(upstream: Upstream) {
  return {
    services: [{ name: "svc", targets: [{ url: upstream.url }] }],
    routes: [
      { name: "keep-host", match: { paths: ["/keep-host"] }, service: "svc", preserveHost: true },
      { name: "all", match: { paths: ["/*"] }, service: "svc" },
    ],
  };
}

describe("request headers from an untrusted peer", () => {
  let up: Upstream;
  let gw: RunningGateway;

  before(async () => {
    up = await startUpstream();
    gw = await startGateway(testConfig(routes(up)));
  });
  after(async () => {
    await gw?.stop();
    await up?.close();
  });

  it("does not forward hop-by-hop headers", async () => {
    const got = await echoed(gw.port, [
      "Host: a.example",
      "Connection: keep-alive",
      "Keep-Alive: timeout=5, max=100",
      "TE: gzip, deflate",
      "Upgrade: h2c",
      "Proxy-Authorization: Basic c2VjcmV0OnNlY3JldA==",
      "Proxy-Connection: keep-alive",
      "X-Kept: yes",
    ]);
    for (const name of ["keep-alive", "te", "upgrade", "proxy-authorization", "proxy-connection"])
      assert.equal(got.headers[name], undefined, `${name} must not be forwarded`);
    // undici opens its own connection and may announce keep-alive on it, nothing more.
    assert.ok([undefined, "keep-alive"].includes(got.headers.connection as string | undefined));
    assert.equal(got.headers["x-kept"], "yes");
  });

  it("forwards TE only as `trailers`", async () => {
    assert.equal((await echoed(gw.port, ["Host: a", "TE: trailers"])).headers.te, "trailers");
    assert.equal(
      (await echoed(gw.port, ["Host: a", "TE: deflate, trailers;q=1"])).headers.te,
      "trailers",
    );
    assert.equal((await echoed(gw.port, ["Host: a", "TE: deflate"])).headers.te, undefined);
  });

  it("re-frames a chunked body instead of passing the client's Transfer-Encoding on", async () => {
    const response = await send(
      gw.port,
      "POST /h HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
    );
    assert.equal(response.status, 200);
    const got = JSON.parse(response.body) as Echo;
    assert.equal(got.bodySize, 7);
    assert.ok(
      [undefined, "chunked"].includes(got.headers["transfer-encoding"] as string | undefined),
      `transfer-encoding: ${got.headers["transfer-encoding"]}`,
    );
  });

  it("removes every header the client names in Connection", async () => {
    const got = await echoed(gw.port, [
      "Host: a",
      "Connection: keep-alive, X-Secret, x-other",
      "Connection: X-Third",
      "X-Secret: 1",
      "X-Other: 2",
      "X-Third: 3",
      "X-Kept: 4",
    ]);
    assert.equal(got.headers["x-secret"], undefined);
    assert.equal(got.headers["x-other"], undefined);
    assert.equal(got.headers["x-third"], undefined);
    assert.equal(got.headers["x-kept"], "4");
  });

  it("does not let Connection remove the gateway's own headers", async () => {
    const connection = await RawConnection.open(gw.port);
    try {
      await connection.write(
        "GET /h HTTP/1.1\r\nHost: a.example\r\nConnection: X-Forwarded-For, X-Request-Id, Host, X-Forwarded-Proto, X-Forwarded-Host, Forwarded\r\nX-Request-Id: keep-me-1\r\n\r\n",
      );
      const response = await connection.readResponse();
      const got = JSON.parse(response.body) as Echo;
      assert.equal(got.headers["x-forwarded-for"], "127.0.0.1");
      assert.equal(got.headers["x-forwarded-proto"], "http");
      assert.equal(got.headers["x-forwarded-host"], "a.example");
      assert.equal(got.headers.forwarded, "for=127.0.0.1;host=a.example;proto=http");
      assert.equal(got.headers["x-request-id"], "keep-me-1");
      assert.equal(response.headers["x-request-id"], "keep-me-1");
      assert.equal(got.headers.host, `127.0.0.1:${up.port}`);
    } finally {
      connection.destroy();
    }
  });

  it("sets X-Forwarded-For, -Proto, -Host and Forwarded", async () => {
    const got = await echoed(gw.port, ["Host: a.example:8080"]);
    assert.equal(got.headers["x-forwarded-for"], "127.0.0.1");
    assert.equal(got.headers["x-forwarded-proto"], "http");
    assert.equal(got.headers["x-forwarded-host"], "a.example:8080");
    assert.equal(got.headers.forwarded, 'for=127.0.0.1;host="a.example:8080";proto=http');
  });

  it("replaces, never appends to, forwarding headers a client made up", async () => {
    const got = await echoed(gw.port, [
      "Host: a.example",
      "X-Forwarded-For: 6.6.6.6",
      "X-Forwarded-For: 7.7.7.7",
      "X-Forwarded-Proto: https",
      "X-Forwarded-Host: evil.example",
      "Forwarded: for=6.6.6.6;proto=https",
      "X-Real-IP: 6.6.6.6",
    ]);
    assert.equal(got.headers["x-forwarded-for"], "127.0.0.1");
    assert.equal(got.headers["x-forwarded-proto"], "http");
    assert.equal(got.headers["x-forwarded-host"], "a.example");
    assert.equal(got.headers.forwarded, "for=127.0.0.1;host=a.example;proto=http");
  });

  it("sends the target's host:port upstream by default, the client's Host with preserveHost", async () => {
    assert.equal(
      (await echoed(gw.port, ["Host: Shop.Example.com:8443"])).headers.host,
      `127.0.0.1:${up.port}`,
    );
    assert.equal(
      (await echoed(gw.port, ["Host: Shop.Example.com:8443"], "/keep-host")).headers.host,
      "Shop.Example.com:8443",
    );
  });

  describe("X-Request-Id", () => {
    it("keeps a well-formed id and returns it to the client", async () => {
      const id = "req-123_abc.DEF:9";
      const response = await send(
        gw.port,
        `GET /h HTTP/1.1\r\nHost: a\r\nX-Request-Id: ${id}\r\n\r\n`,
      );
      assert.equal(response.headers["x-request-id"], id);
      assert.equal((JSON.parse(response.body) as Echo).headers["x-request-id"], id);
    });

    for (const [label, id] of [
      ["too long", "a".repeat(129)],
      ["with a space", "abc def"],
      ["with markup", "<script>"],
      ["with a slash", "a/b"],
      ["with a quote", 'a"b'],
      ["repeated", "one\r\nX-Request-Id: two"],
    ] as const) {
      it(`replaces an id ${label}`, async () => {
        const response = await send(
          gw.port,
          `GET /h HTTP/1.1\r\nHost: a\r\nX-Request-Id: ${id}\r\n\r\n`,
        );
        const sent = (JSON.parse(response.body) as Echo).headers["x-request-id"];
        assert.match(String(sent), uuid);
        assert.equal(response.headers["x-request-id"], sent);
      });
    }

    it("keeps an id of exactly 128 characters", async () => {
      const id = "b".repeat(128);
      const response = await send(
        gw.port,
        `GET /h HTTP/1.1\r\nHost: a\r\nX-Request-Id: ${id}\r\n\r\n`,
      );
      assert.equal(response.headers["x-request-id"], id);
    });

    it("generates one when absent, different for each request", async () => {
      const first = await send(gw.port, "GET /h HTTP/1.1\r\nHost: a\r\n\r\n");
      const second = await send(gw.port, "GET /h HTTP/1.1\r\nHost: a\r\n\r\n");
      assert.match(first.headers["x-request-id"]!, uuid);
      assert.equal(
        (JSON.parse(first.body) as Echo).headers["x-request-id"],
        first.headers["x-request-id"],
      );
      assert.notEqual(first.headers["x-request-id"], second.headers["x-request-id"]);
    });

    it("returns the same id on error responses, in the header and the body", async () => {
      const kept = await send(
        gw.port,
        "GET /%zz HTTP/1.1\r\nHost: a\r\nX-Request-Id: err-1\r\n\r\n",
      );
      assert.equal(kept.status, 400);
      assert.equal(kept.headers["x-request-id"], "err-1");
      assert.equal(JSON.parse(kept.body).error.requestId, "err-1");

      const made = await send(gw.port, "GET /%zz HTTP/1.1\r\nHost: a\r\nX-Request-Id: a b\r\n\r\n");
      assert.equal(made.status, 400);
      assert.match(made.headers["x-request-id"]!, uuid);
      assert.equal(JSON.parse(made.body).error.requestId, made.headers["x-request-id"]);
    });
  });
});

describe("X-Request-Id on the gateway's own upstream errors", () => {
  it("returns the client's id on a 502 when the upstream is down", async () => {
    const gone = await startUpstream();
    await gone.close();
    const gw = await startGateway(testConfig(routes(gone)));
    try {
      const response = await send(
        gw.port,
        "GET /h HTTP/1.1\r\nHost: a\r\nX-Request-Id: down-1\r\n\r\n",
      );
      assert.equal(response.status, 502);
      assert.equal(response.headers["x-request-id"], "down-1");
      assert.equal(JSON.parse(response.body).error.requestId, "down-1");
    } finally {
      await gw.stop();
    }
  });
});

describe("request headers from a trusted proxy", () => {
  let up: Upstream;
  let gw: RunningGateway;

  before(async () => {
    up = await startUpstream();
    gw = await startGateway(
      testConfig({ ...routes(up), gateway: { trustedProxies: ["127.0.0.1/32"] } }),
    );
  });
  after(async () => {
    await gw?.stop();
    await up?.close();
  });

  it("appends the peer to X-Forwarded-For and Forwarded, and keeps -Proto and -Host", async () => {
    const got = await echoed(gw.port, [
      "Host: inner.example",
      "X-Forwarded-For: 203.0.113.7",
      "X-Forwarded-For: 10.0.0.2",
      "X-Forwarded-Proto: https",
      "X-Forwarded-Host: public.example",
      "Forwarded: for=203.0.113.7;proto=https",
    ]);
    assert.equal(got.headers["x-forwarded-for"], "203.0.113.7, 10.0.0.2, 127.0.0.1");
    assert.equal(got.headers["x-forwarded-proto"], "https");
    assert.equal(got.headers["x-forwarded-host"], "public.example");
    assert.equal(
      got.headers.forwarded,
      "for=203.0.113.7;proto=https, for=127.0.0.1;host=inner.example;proto=http",
    );
  });

  it("starts the chain when the trusted peer sent none", async () => {
    const got = await echoed(gw.port, ["Host: inner.example"]);
    assert.equal(got.headers["x-forwarded-for"], "127.0.0.1");
    assert.equal(got.headers["x-forwarded-proto"], "http");
    assert.equal(got.headers["x-forwarded-host"], "inner.example");
  });
});

describe("response headers", () => {
  let upstream: Server;
  let upstreamPort: number;
  let gw: RunningGateway;
  const sockets = new Set<Socket>();

  before(async () => {
    // A raw upstream, so the response carries exactly the headers under test.
    upstream = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {});
      let buffer = "";
      socket.setEncoding("latin1");
      socket.on("data", (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf("\r\n\r\n"); end !== -1; end = buffer.indexOf("\r\n\r\n")) {
          buffer = buffer.slice(end + 4);
          socket.write(
            [
              "HTTP/1.1 200 OK",
              "Content-Length: 2",
              "Connection: keep-alive, X-Upstream-Secret",
              "Connection: X-Second-Secret",
              "Keep-Alive: timeout=30",
              "Proxy-Authenticate: Basic realm=x",
              "Proxy-Connection: keep-alive",
              "Upgrade: h2c",
              "X-Upstream-Secret: s1",
              "X-Second-Secret: s2",
              "X-Request-Id: upstream-made-this",
              "X-Visible: v",
              "",
              "ok",
            ].join("\r\n"),
          );
        }
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    upstreamPort = (upstream.address() as { port: number }).port;
    gw = await startGateway(
      testConfig({
        services: [{ name: "raw", targets: [{ url: `http://127.0.0.1:${upstreamPort}` }] }],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "raw" }],
      }),
    );
  });
  after(async () => {
    await gw?.stop();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => upstream?.close(resolve));
  });

  it("drops hop-by-hop and Connection-listed headers and sets the gateway's request id", async () => {
    const response = await send(
      gw.port,
      "GET /r HTTP/1.1\r\nHost: a\r\nX-Request-Id: mine-1\r\n\r\n",
    );
    assert.equal(response.status, 200);
    assert.equal(response.body, "ok");
    assert.equal(response.headers["x-visible"], "v");
    assert.equal(response.headers["x-request-id"], "mine-1");
    for (const name of [
      "x-upstream-secret",
      "x-second-secret",
      "proxy-authenticate",
      "proxy-connection",
      "upgrade",
    ])
      assert.equal(response.headers[name], undefined, `${name} must not reach the client`);
    // Node writes its own keep-alive headers for the client connection; the upstream's are gone.
    assert.notEqual(response.headers["keep-alive"], "timeout=30");
    assert.ok(!response.headers.connection?.toLowerCase().includes("x-upstream-secret"));
  });
});
