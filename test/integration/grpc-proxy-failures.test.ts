// gRPC calls through the gateway when targets fail: a call that ended UNAVAILABLE (or never
// connected) before any response message is retried on another target, one that had
// received a message is not; a target killed mid-stream ends the call UNAVAILABLE and is
// recorded against; no target at all is a gRPC status, never an HTTP error page.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { afterEach, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { echoMethods, startGrpcEchoServer } from "../helpers/grpc-echo-server.ts";
import { type GrpcService, grpcService, startGrpcFront } from "../helpers/grpc-front.ts";
import { until } from "../helpers/until.ts";

const raw = (b: Buffer) => b;
const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function setUp(urls: string[], extra: Record<string, unknown> = {}) {
  const upstream = grpcService(urls, extra);
  cleanup.push(() => upstream.destroy());
  const front = await startGrpcFront(upstream.service, {
    first: () => upstream.service.targets[0]!,
  });
  cleanup.push(() => front.close());
  return { upstream, front };
}

async function echoServer(options: { failWith?: number } = {}) {
  const server = await startGrpcEchoServer(options);
  cleanup.push(() => server.kill());
  return server;
}

/** A loopback port nothing listens on. */
async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return `http://127.0.0.1:${port}`;
}

function unary(client: grpc.Client): Promise<{ error: grpc.ServiceError | null; reply?: Buffer }> {
  return new Promise((resolve) =>
    client.makeUnaryRequest(echoMethods.Unary.path, raw, raw, Buffer.from("hi"), (error, reply) =>
      resolve({ error, reply }),
    ),
  );
}

const kinds = (upstream: GrpcService, url: string) =>
  upstream.outcomes.filter((o) => o.url === url).map((o) => o.outcome.kind);

describe("gRPC proxying: retries and failing targets", () => {
  it("retries a call that ended UNAVAILABLE before any message on another target", async () => {
    const down = await echoServer({ failWith: grpc.status.UNAVAILABLE });
    const up = await echoServer();
    const { upstream, front } = await setUp([down.url, up.url]);
    const answer = await unary(front.client);
    assert.equal(answer.error, null);
    assert.equal(answer.reply?.toString(), "hi");
    assert.equal(down.calls.length, 1);
    assert.equal(up.calls.length, 1);
    assert.deepEqual(kinds(upstream, down.url), ["server-error"]);
    assert.deepEqual(kinds(upstream, up.url), ["success"]);
    assert.equal(front.ends.at(-1)?.retries, 1);
    assert.equal(front.ends.at(-1)?.target.url, up.url);
    assert.equal(front.ends.at(-1)?.outcome, "success");
  });

  it("retries a client stream, sending its messages again, while they fit maxBufferedBody", async () => {
    const down = await echoServer({ failWith: grpc.status.UNAVAILABLE });
    const up = await echoServer();
    const send = (client: grpc.Client) =>
      new Promise<{ error: grpc.ServiceError | null; reply?: Buffer }>((resolve) => {
        const call = client.makeClientStreamRequest(
          echoMethods.ClientStream.path,
          raw,
          raw,
          (error, reply) => resolve({ error, reply }),
        );
        for (let i = 0; i < 10; i++) call.write(Buffer.alloc(1000, i));
        call.end();
      });
    const { front } = await setUp([down.url, up.url]);
    const answer = await send(front.client);
    assert.equal(answer.error, null);
    assert.deepEqual(JSON.parse(answer.reply!.toString()), { count: 10, bytes: 10_000 });
    const small = await setUp([down.url, up.url], { retries: { maxBufferedBody: "4kb" } });
    assert.equal((await send(small.front.client)).error?.code, grpc.status.UNAVAILABLE);
    assert.equal(up.calls.length, 1, "the stream larger than maxBufferedBody was not retried");
  });

  it("lets a client stream go on after its retry, on a session already open", async () => {
    const up = await echoServer();
    const { front } = await setUp([await deadUrl(), up.url]);
    // The retry's target has a session ready: its stream opens at once.
    assert.equal((await unary(front.client)).error?.code, undefined);
    const answer = new Promise<{ error: grpc.ServiceError | null; reply?: Buffer }>((resolve) => {
      const call = front.client.makeClientStreamRequest(
        echoMethods.ClientStream.path,
        raw,
        raw,
        { deadline: Date.now() + 5_000 },
        (error, reply) => resolve({ error, reply }),
      );
      call.write(Buffer.alloc(10, 1));
      // The rest is sent once the retry has reached the second target.
      void until(() => up.calls.some((c) => c.method === "ClientStream"), "the retry").then(() => {
        for (let i = 0; i < 4; i++) call.write(Buffer.alloc(10, i));
        call.end();
      });
    });
    const { error, reply } = await answer;
    assert.equal(error, null);
    assert.deepEqual(JSON.parse(reply!.toString()), { count: 5, bytes: 50 });
  });

  it("retries a call whose target refused the connection", async () => {
    const dead = await deadUrl();
    const up = await echoServer();
    const { upstream, front } = await setUp([dead, up.url]);
    const answer = await unary(front.client);
    assert.equal(answer.error, null);
    assert.deepEqual(kinds(upstream, dead), ["connect-failure"]);
  });

  it("does not retry UNAVAILABLE without `unavailable` in retries.on, nor other statuses", async () => {
    const down = await echoServer({ failWith: grpc.status.UNAVAILABLE });
    const up = await echoServer();
    const { front } = await setUp([down.url, up.url], { retries: { on: ["connect-failure"] } });
    assert.equal((await unary(front.client)).error?.code, grpc.status.UNAVAILABLE);
    const failing = await echoServer({ failWith: grpc.status.INTERNAL });
    const other = await setUp([failing.url, up.url]);
    assert.equal((await unary(other.front.client)).error?.code, grpc.status.INTERNAL);
    assert.equal(up.calls.length, 0);
  });

  it("does not retry once a response message was received", async () => {
    const first = await echoServer();
    const second = await echoServer();
    const { front } = await setUp([first.url, second.url]);
    const call = front.client.makeServerStreamRequest(
      echoMethods.ServerStream.path,
      raw,
      raw,
      Buffer.from(JSON.stringify({ count: 1, size: 10, status: grpc.status.UNAVAILABLE })),
    );
    const messages: Buffer[] = [];
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      call.on("data", (message: Buffer) => messages.push(message));
      call.on("error", resolve);
    });
    assert.equal(messages.length, 1);
    assert.equal(error.code, grpc.status.UNAVAILABLE);
    assert.equal(second.calls.length, 0);
    assert.equal(front.ends.at(-1)?.retries, 0);
  });

  it("ends a stream whose target was killed UNAVAILABLE, and records it against the target", async () => {
    const doomed = await echoServer();
    const other = await echoServer();
    const { upstream, front } = await setUp([doomed.url, other.url]);
    const call = front.client.makeServerStreamRequest(
      echoMethods.ServerStream.path,
      raw,
      raw,
      Buffer.from(JSON.stringify({ count: 1000, size: 10, intervalMs: 10 })),
    );
    const error = new Promise<grpc.ServiceError>((resolve) => call.on("error", resolve));
    await new Promise((resolve) => call.once("data", resolve));
    doomed.kill();
    assert.equal((await error).code, grpc.status.UNAVAILABLE);
    assert.deepEqual(kinds(upstream, doomed.url), ["reset"]);
    assert.equal(front.ends.at(-1)?.outcome, "reset");
    assert.equal(other.calls.length, 0, "a stream that had begun is not retried");
  });

  it("answers UNAVAILABLE, as a gRPC status, when the service has no target", async () => {
    const up = await echoServer();
    const upstream = grpcService([up.url]);
    cleanup.push(() => upstream.destroy());
    upstream.service.targets[0]!.health = "unhealthy";
    const front = await startGrpcFront(upstream.service);
    cleanup.push(() => front.close());
    const answer = await unary(front.client);
    assert.equal(answer.error?.code, grpc.status.UNAVAILABLE);
    assert.equal(answer.error?.details, "The service has no available target");
  });
});
