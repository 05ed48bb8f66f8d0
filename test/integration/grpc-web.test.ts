// gRPC-Web through the gateway: frames built by hand and sent over HTTP/1.1 (as a browser
// does) to a route with the grpc-web plugin, made as native gRPC calls to a grpc-js server;
// messages and the trailers frame back, the -text variant in base64, CORS with the status
// headers exposed, and the gateway's own errors as gRPC-Web statuses.
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:http2";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";
import { Gateway } from "../../src/gateway.ts";
import { Base64StreamDecoder } from "../../src/grpc/web.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { type GrpcEchoServer, startGrpcEchoServer } from "../helpers/grpc-echo-server.ts";

const origin = "https://app.example.com";

/** One gRPC message frame: flag 0, 4-byte length, the message. */
function frame(message: Buffer | string): Buffer {
  const bytes = Buffer.from(message);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(bytes.length, 1);
  return Buffer.concat([head, bytes]);
}

interface WebBody {
  messages: Buffer[];
  /** The trailers frame's lines, undefined when the body had none. */
  trailers: Record<string, string> | undefined;
}

/** Splits a gRPC-Web body into its messages and its trailers frame. */
function parseFrames(body: Buffer): WebBody {
  const parsed: WebBody = { messages: [], trailers: undefined };
  for (let at = 0; at < body.length; ) {
    const flag = body[at]!;
    const length = body.readUInt32BE(at + 1);
    const payload = body.subarray(at + 5, at + 5 + length);
    at += 5 + length;
    if (flag !== 0x80) {
      assert.equal(parsed.trailers, undefined, "a message after the trailers frame");
      parsed.messages.push(payload);
      continue;
    }
    parsed.trailers = {};
    for (const line of payload.toString("latin1").split("\r\n")) {
      if (line === "") continue;
      const colon = line.indexOf(":");
      parsed.trailers[line.slice(0, colon)] = line.slice(colon + 1).trim();
    }
  }
  return parsed;
}

async function call(
  url: string,
  body: Buffer | string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const res = await request(url, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", ...headers },
    body,
  });
  return {
    status: res.statusCode,
    headers: res.headers as Record<string, string>,
    body: Buffer.from(await res.body.arrayBuffer()),
  };
}

describe("gRPC-Web through the gateway (HTTP/1.1)", () => {
  let echo: GrpcEchoServer;
  let gw: RunningGateway;

  before(async () => {
    echo = await startGrpcEchoServer();
    const web = [
      { name: "grpc-web" },
      { name: "cors", config: { origins: [origin], methods: ["POST"] } },
    ];
    gw = await startGateway(
      testConfig({
        services: [
          { name: "echo", protocol: "grpc", targets: [{ url: echo.url }] },
          { name: "gone", protocol: "grpc", targets: [{ url: "http://127.0.0.1:1" }] },
        ],
        consumers: [{ name: "app", credentials: { keys: ["web-key-123456"] } }],
        routes: [
          { name: "echo", match: { paths: ["/test.v1.Echo/*"] }, service: "echo", plugins: web },
          { name: "gone", match: { paths: ["/test.v1.Gone/*"] }, service: "gone", plugins: web },
          {
            name: "keyed",
            match: { paths: ["/test.v1.Keyed/*"] },
            service: "echo",
            plugins: [...web, { name: "key-auth" }],
          },
          { name: "bare", match: { paths: ["/test.v1.Bare/*"] }, service: "echo" },
        ],
      }),
    );
  });
  after(async () => {
    await gw.stop();
    echo.kill();
  });

  it("answers a unary call with its message, then a trailers frame with grpc-status 0", async () => {
    const res = await call(`${gw.url}/test.v1.Echo/Unary`, frame("hello"));
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "application/grpc-web+proto");
    const body = parseFrames(res.body);
    assert.deepEqual(
      body.messages.map((m) => m.toString()),
      ["hello"],
    );
    assert.equal(body.trailers?.["grpc-status"], "0");
    assert.equal(body.trailers?.["x-trailer"], "kept");
    assert.equal(res.headers["grpc-status"], undefined, "the status is in the body, not headers");
    assert.equal(echo.calls.at(-1)?.metadata.get("x-grpc-web").length, 0);
  });

  it("passes a server stream's messages and headers, then the trailers frame", async () => {
    const res = await call(
      `${gw.url}/test.v1.Echo/ServerStream`,
      frame(JSON.stringify({ count: 3, size: 4 })),
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers["x-stream"], "headers");
    const body = parseFrames(res.body);
    assert.deepEqual(
      body.messages,
      [0, 1, 2].map((i) => Buffer.alloc(4, i)),
    );
    assert.equal(body.trailers?.["grpc-status"], "0");
  });

  it("carries an error status that follows messages in the trailers frame", async () => {
    const res = await call(
      `${gw.url}/test.v1.Echo/ServerStream`,
      frame(JSON.stringify({ count: 2, size: 3, status: 9 })),
    );
    const body = parseFrames(res.body);
    assert.equal(body.messages.length, 2);
    assert.equal(body.trailers?.["grpc-status"], "9");
    assert.equal(decodeURIComponent(body.trailers!["grpc-message"]!), "stream failed");
  });

  it("answers a call that fails before any message with the status in headers", async () => {
    const res = await call(`${gw.url}/test.v1.Echo/Unary`, frame("x"), { "x-status": "5" });
    assert.equal(res.status, 200);
    assert.equal(res.headers["grpc-status"], "5");
    assert.equal(decodeURIComponent(res.headers["grpc-message"]!), "told to fail: ✓");
    assert.equal(res.body.length, 0);
  });

  it("round-trips the -text variant in base64", async () => {
    const res = await call(
      `${gw.url}/test.v1.Echo/ServerStream`,
      frame(JSON.stringify({ count: 2, size: 5 })).toString("base64"),
      { "content-type": "application/grpc-web-text", accept: "application/grpc-web-text" },
    );
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "application/grpc-web-text+proto");
    const text = res.body.toString("latin1");
    assert.match(text, /^[A-Za-z0-9+/=]+$/);
    const decoder = new Base64StreamDecoder();
    const body = parseFrames(decoder.push(text));
    decoder.end();
    assert.deepEqual(body.messages, [Buffer.alloc(5, 0), Buffer.alloc(5, 1)]);
    assert.equal(body.trailers?.["grpc-status"], "0");
  });

  it("ends a -text call whose body is not base64 INVALID_ARGUMENT", async () => {
    const res = await call(`${gw.url}/test.v1.Echo/Unary`, "!!!!not base64", {
      "content-type": "application/grpc-web-text",
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers["grpc-status"], "3");
  });

  it("closes the connection after refusing a -text body that is not base64, its rest unread", async () => {
    const socket = netConnect(gw.port, "127.0.0.1");
    socket.write(
      "POST /test.v1.Echo/Unary HTTP/1.1\r\nHost: gw\r\nContent-Type: application/grpc-web-text\r\n" +
        `Content-Length: 100000\r\n\r\n${"!".repeat(1000)}`,
    );
    let answer = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      answer += chunk;
    });
    const closed = await Promise.race([
      once(socket, "close").then(() => true),
      sleep(3000).then(() => false),
    ]);
    socket.destroy();
    assert.match(answer, /^HTTP\/1\.1 200 [\s\S]*grpc-status: 3/i);
    assert.ok(closed, "the connection was closed, not left waiting for the rest of the body");
  });

  it("answers a CORS preflight, and exposes the status headers on the call", async () => {
    const preflight = await request(`${gw.url}/test.v1.Echo/Unary`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,x-grpc-web",
      },
    });
    await preflight.body.dump();
    assert.equal(preflight.statusCode, 204);
    assert.equal(preflight.headers["access-control-allow-origin"], origin);
    assert.equal(preflight.headers["access-control-allow-headers"], "content-type,x-grpc-web");

    const res = await call(`${gw.url}/test.v1.Echo/Unary`, frame("hi"), { origin });
    assert.equal(res.headers["access-control-allow-origin"], origin);
    const exposed = res.headers["access-control-expose-headers"]!.split(/,\s*/);
    assert.ok(exposed.includes("grpc-status") && exposed.includes("grpc-message"), exposed.join());
    assert.equal(parseFrames(res.body).trailers?.["grpc-status"], "0");
  });

  it("answers an unreachable service UNAVAILABLE as a gRPC-Web status a browser can read", async () => {
    const res = await call(`${gw.url}/test.v1.Gone/Call`, frame("x"), { origin });
    assert.equal(res.status, 200);
    assert.equal(res.headers["content-type"], "application/grpc-web+proto");
    assert.equal(res.headers["grpc-status"], "14");
    assert.equal(res.headers["access-control-allow-origin"], origin);
    assert.match(res.headers["access-control-expose-headers"]!, /grpc-status/);
  });

  it("answers a plugin's refusal UNAUTHENTICATED, with CORS", async () => {
    const res = await call(`${gw.url}/test.v1.Keyed/Unary`, frame("x"), { origin });
    assert.equal(res.status, 200);
    assert.equal(res.headers["grpc-status"], "16");
    assert.equal(res.headers["access-control-allow-origin"], origin);
    const keyed = await call(`${gw.url}/test.v1.Keyed/Unary`, frame("x"), {
      origin,
      "x-api-key": "web-key-123456",
    });
    // The key passes; the echo server has no Keyed service.
    assert.equal(keyed.headers["grpc-status"], "12");
  });

  it("answers a path no route takes UNIMPLEMENTED, and a route without grpc-web refuses", async () => {
    const unknown = await call(`${gw.url}/test.v1.Other/Call`, frame("x"));
    assert.equal(unknown.status, 200);
    assert.equal(unknown.headers["grpc-status"], "12");
    const bare = await call(`${gw.url}/test.v1.Bare/Unary`, frame("x"));
    assert.equal(bare.status, 200);
    assert.equal(bare.headers["grpc-status"], "3");
  });
});

describe("docs/grpc.md: gRPC-Web", () => {
  it("its example serves a gRPC-Web call to an allowed origin", async () => {
    const doc = await readFile(new URL("../../docs/grpc.md", import.meta.url), "utf8");
    const example = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((match) => match[1]!)
      .find((block) => block.includes("grpc-web"))!;
    const echo = await startGrpcEchoServer();
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-grpc-web-docs-"));
    const file = join(dir, "gatehouse.yaml");
    await writeFile(
      file,
      `gateway:\n  listen: [{ host: 127.0.0.1, port: 0 }]\n  log: { level: silent }\n  accessLog: { enabled: false }\n${example.replace("http://127.0.0.1:50051", echo.url)}`,
    );
    const gateway = new Gateway(await validateConfigFile(file, {}));
    await gateway.start();
    try {
      const url = `http://127.0.0.1:${gateway.addresses().proxy[0]!.port}`;
      const res = await call(`${url}/test.v1.Echo/Unary`, frame("doc"), {
        origin: "https://app.example.com",
      });
      assert.equal(res.headers["access-control-allow-origin"], "https://app.example.com");
      const body = parseFrames(res.body);
      assert.deepEqual(
        body.messages.map((m) => m.toString()),
        ["doc"],
      );
      assert.equal(body.trailers?.["grpc-status"], "0");
    } finally {
      await gateway.stop();
      echo.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("gRPC-Web through the gateway (HTTP/2)", () => {
  it("answers a unary call over h2c with its message and the trailers frame", async () => {
    const echo = await startGrpcEchoServer();
    const gw = await startGateway(
      testConfig({
        gateway: { listen: [{ host: "127.0.0.1", port: 0, http2: true }] },
        services: [{ name: "echo", protocol: "grpc", targets: [{ url: echo.url }] }],
        routes: [
          {
            name: "echo",
            match: { paths: ["/test.v1.Echo/*"] },
            service: "echo",
            plugins: [{ name: "grpc-web" }],
          },
        ],
      }),
    );
    const session = connect(gw.url);
    try {
      const answer = await new Promise<{ status: number; type: string; body: Buffer }>(
        (resolve, reject) => {
          const stream = session.request({
            ":method": "POST",
            ":path": "/test.v1.Echo/Unary",
            "content-type": "application/grpc-web+proto",
          });
          const chunks: Buffer[] = [];
          let head: Record<string, unknown> = {};
          stream.on("response", (headers) => {
            head = headers;
          });
          stream.on("data", (chunk: Buffer) => chunks.push(chunk));
          stream.on("end", () =>
            resolve({
              status: Number(head[":status"]),
              type: String(head["content-type"]),
              body: Buffer.concat(chunks),
            }),
          );
          stream.on("error", reject);
          stream.end(frame("over h2"));
        },
      );
      assert.equal(answer.status, 200);
      assert.equal(answer.type, "application/grpc-web+proto");
      const body = parseFrames(answer.body);
      assert.deepEqual(
        body.messages.map((m) => m.toString()),
        ["over h2"],
      );
      assert.equal(body.trailers?.["grpc-status"], "0");
    } finally {
      session.close();
      await gw.stop();
      echo.kill();
    }
  });
});
