// A gRPC call's flow control through the gateway, with the call's own API: a slow reader
// holds the upstream back instead of the gateway buffering its stream, a slow upstream
// holds the client's request body back, and the unary helper transcoding uses returns the
// response message and status with the same retry rule.
import assert from "node:assert/strict";
import { createServer, type ServerHttp2Stream } from "node:http2";
import { Readable } from "node:stream";
import { afterEach, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { encodeGrpcFrame } from "../../src/grpc/framing.ts";
import { type GrpcCallEnd, startGrpcCall } from "../../src/proxy/grpc/grpc-call.ts";
import { callGrpcUnary } from "../../src/proxy/grpc/unary-call.ts";
import { echoMethods, startGrpcEchoServer } from "../helpers/grpc-echo-server.ts";
import { grpcService } from "../helpers/grpc-front.ts";
import { until } from "../helpers/until.ts";

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function serviceOver(urls: string[]) {
  const upstream = grpcService(urls);
  cleanup.push(() => upstream.destroy());
  return upstream.service;
}

const selection = { clientAddress: "127.0.0.1", headers: {}, path: "/", query: "" };
const frame = (text: string) => encodeGrpcFrame(Buffer.from(text));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("gRPC call flow control", () => {
  it("a reader that stops holds the upstream back; resumed, it gets every message", async () => {
    const echo = await startGrpcEchoServer();
    cleanup.push(() => echo.kill());
    const service = serviceOver([echo.url]);
    let received = 0;
    let resumeReader: (() => void) | undefined;
    const ended = new Promise<GrpcCallEnd>((onEnd) =>
      startGrpcCall(
        {
          service,
          target: service.targets[0]!,
          selection,
          path: echoMethods.ServerStream.path,
          metadata: [],
          body: frame(JSON.stringify({ count: 2000, size: 16 * 1024 })),
        },
        {
          onHeaders() {},
          onData(chunk, resume) {
            received += chunk.length;
            if (resumeReader === undefined) {
              resumeReader = resume;
              return false;
            }
            return true;
          },
          onEnd,
        },
      ),
    );
    await until(() => resumeReader !== undefined, "the first response bytes");
    await sleep(300);
    // 2000 messages of 16 KiB is 32 MiB: only the HTTP/2 windows' worth may be on its way.
    assert.ok(echo.written < 64, `the server wrote ${echo.written} messages to a paused reader`);
    resumeReader!();
    const end = await ended;
    assert.equal(end.code, grpc.status.OK);
    assert.equal(received, 2000 * (5 + 16 * 1024));
  });

  it("an upstream that does not read holds the client's request body back", async () => {
    const held: ServerHttp2Stream[] = [];
    const server = createServer();
    server.on("stream", (stream) => held.push(stream)); // never read, never answered
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanup.push(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as { port: number };
    const service = serviceOver([`http://127.0.0.1:${port}`]);
    let produced = 0;
    const chunk = Buffer.from(encodeGrpcFrame(Buffer.alloc(16 * 1024, 1)));
    const body = new Readable({
      read() {
        produced += chunk.length;
        this.push(produced > 64 * 1024 * 1024 ? null : chunk);
      },
    });
    const cancel = new AbortController();
    const ended = new Promise<GrpcCallEnd>((onEnd) =>
      startGrpcCall(
        {
          service,
          target: service.targets[0]!,
          selection,
          path: echoMethods.ClientStream.path,
          metadata: [],
          body,
          signal: cancel.signal,
        },
        { onHeaders() {}, onData: () => true, onEnd },
      ),
    );
    await until(() => held.length === 1, "the stream to reach the server");
    await sleep(300);
    assert.ok(produced < 1024 * 1024, `the gateway read ${produced} bytes of the body`);
    cancel.abort();
    assert.equal((await ended).code, grpc.status.CANCELLED);
    await until(() => held[0]!.rstCode === 8, "RST_STREAM CANCEL at the server");
  });
});

describe("unary calls made by the gateway", () => {
  it("returns the response message, headers and trailers", async () => {
    const echo = await startGrpcEchoServer();
    cleanup.push(() => echo.kill());
    const service = serviceOver([echo.url]);
    const result = await callGrpcUnary({
      service,
      target: service.targets[0]!,
      selection,
      path: echoMethods.Unary.path,
      metadata: ["x-who", "transcoder"],
      message: Buffer.from("a message"),
    });
    assert.equal(result.code, grpc.status.OK);
    assert.equal(Buffer.from(result.response!).toString(), "a message");
    assert.equal(result.trailers["x-trailer"], "kept");
    assert.equal(result.headers["content-type"], "application/grpc+proto");
    assert.deepEqual(echo.calls[0]!.metadata.get("x-who"), ["transcoder"]);
  });

  it("returns a failed call's status, after retrying UNAVAILABLE on another target", async () => {
    const down = await startGrpcEchoServer({ failWith: grpc.status.UNAVAILABLE });
    const failing = await startGrpcEchoServer({ failWith: grpc.status.NOT_FOUND });
    cleanup.push(
      () => down.kill(),
      () => failing.kill(),
    );
    const service = serviceOver([down.url, failing.url]);
    const result = await callGrpcUnary({
      service,
      target: service.targets[0]!,
      selection,
      path: echoMethods.Unary.path,
      metadata: [],
      message: Buffer.from("x"),
    });
    assert.equal(result.retries, 1);
    assert.equal(result.code, grpc.status.NOT_FOUND);
    assert.equal(result.message, "told to fail: ✓");
    assert.equal(result.response, undefined);
  });

  it("fails a response message larger than allowed with RESOURCE_EXHAUSTED", async () => {
    const echo = await startGrpcEchoServer();
    cleanup.push(() => echo.kill());
    const service = serviceOver([echo.url]);
    const result = await callGrpcUnary({
      service,
      target: service.targets[0]!,
      selection,
      path: echoMethods.Unary.path,
      metadata: [],
      message: Buffer.alloc(2048),
      maxMessageBytes: 1024,
    });
    assert.equal(result.code, grpc.status.RESOURCE_EXHAUSTED);
  });
});
