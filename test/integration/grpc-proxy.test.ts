// gRPC calls of every kind through the gateway's gRPC forwarding, from a grpc-js client to a
// grpc-js server: messages both ways, metadata and trailers through, statuses as the server
// sent them, deadlines passed on and shortened by the route's bound, cancellation upstream.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import {
  echoMethods,
  type GrpcEchoServer,
  startGrpcEchoServer,
} from "../helpers/grpc-echo-server.ts";
import {
  type GrpcFront,
  type GrpcService,
  grpcService,
  startGrpcFront,
} from "../helpers/grpc-front.ts";
import { until } from "../helpers/until.ts";

const raw = (b: Buffer) => b;

let echo: GrpcEchoServer;
let upstream: GrpcService;
let front: GrpcFront;
let bounded: GrpcFront;

before(async () => {
  echo = await startGrpcEchoServer();
  upstream = grpcService([echo.url]);
  front = await startGrpcFront(upstream.service);
  bounded = await startGrpcFront(upstream.service, { timeout: 300 });
});
after(async () => {
  await front.close();
  await bounded.close();
  await upstream.destroy();
  echo.kill();
});

interface UnaryAnswer {
  error: grpc.ServiceError | null;
  reply: Buffer | undefined;
  status: grpc.StatusObject;
}

function unary(
  client: grpc.Client,
  request: Buffer,
  metadata = new grpc.Metadata(),
  options: grpc.CallOptions = {},
): Promise<UnaryAnswer> {
  return new Promise((resolve) => {
    let answer: Pick<UnaryAnswer, "error" | "reply"> | undefined;
    let status: grpc.StatusObject | undefined;
    const done = () => answer && status && resolve({ ...answer, status });
    const call = client.makeUnaryRequest(
      echoMethods.Unary.path,
      raw,
      raw,
      request,
      metadata,
      options,
      (error, reply) => {
        answer = { error, reply };
        done();
      },
    );
    call.on("status", (received) => {
      status = received;
      done();
    });
  });
}

const metadataOf = (entries: Record<string, string>) => {
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(entries)) metadata.set(name, value);
  return metadata;
};

describe("gRPC proxying", () => {
  it("passes a unary call, its metadata and its trailers", async () => {
    const answer = await unary(front.client, Buffer.from("hello"), metadataOf({ "x-who": "me" }));
    assert.equal(answer.error, null);
    assert.equal(answer.reply?.toString(), "hello");
    assert.deepEqual(answer.status.metadata.get("x-trailer"), ["kept"]);
    const call = echo.calls.at(-1)!;
    assert.deepEqual(call.metadata.get("x-who"), ["me"]);
    assert.equal(front.ends.at(-1)?.code, grpc.status.OK);
  });

  it("passes the server's error status, message and details as sent", async () => {
    const answer = await unary(front.client, Buffer.from("x"), metadataOf({ "x-status": "5" }));
    assert.equal(answer.error?.code, grpc.status.NOT_FOUND);
    assert.equal(answer.error?.details, "told to fail: ✓");
    assert.equal(front.ends.at(-1)?.code, grpc.status.NOT_FOUND);
  });

  it("streams a server's messages to the client", async () => {
    const call = front.client.makeServerStreamRequest(
      echoMethods.ServerStream.path,
      raw,
      raw,
      Buffer.from(JSON.stringify({ count: 50, size: 1000 })),
    );
    const sizes: number[] = [];
    for await (const message of call) sizes.push((message as Buffer).length);
    assert.equal(sizes.length, 50);
    assert.ok(sizes.every((size) => size === 1000));
  });

  it("passes the response headers of a stream that ends without a message", async () => {
    const call = front.client.makeServerStreamRequest(
      echoMethods.ServerStream.path,
      raw,
      raw,
      Buffer.from(JSON.stringify({ count: 0, size: 0 })),
    );
    let metadata: grpc.Metadata | undefined;
    call.once("metadata", (received) => {
      metadata = received;
    });
    const status = new Promise<grpc.StatusObject>((resolve) => call.once("status", resolve));
    call.resume();
    assert.equal((await status).code, grpc.status.OK);
    assert.deepEqual(metadata?.get("x-stream"), ["headers"]);
  });

  it("streams a client's messages to the server", async () => {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const call = front.client.makeClientStreamRequest(
        echoMethods.ClientStream.path,
        raw,
        raw,
        (error, answer) => (error ? reject(error) : resolve(answer!)),
      );
      for (let i = 0; i < 40; i++) call.write(Buffer.alloc(2000, i));
      call.end();
    });
    assert.deepEqual(JSON.parse(reply.toString()), { count: 40, bytes: 80_000 });
  });

  it("streams both ways at once (bidi): each message answered before the next is sent", async () => {
    const call = front.client.makeBidiStreamRequest(echoMethods.Bidi.path, raw, raw);
    const replies = call[Symbol.asyncIterator]();
    for (let i = 0; i < 5; i++) {
      call.write(Buffer.from(`ping ${i}`));
      const { value } = await replies.next();
      assert.equal((value as Buffer).toString(), `ping ${i}`);
    }
    call.end();
    assert.equal((await replies.next()).done, true);
  });

  it("passes the client's deadline on as grpc-timeout", async () => {
    await unary(front.client, Buffer.from("x"), new grpc.Metadata(), {
      deadline: Date.now() + 5000,
    });
    const { deadlineMs } = echo.calls.at(-1)!;
    assert.ok(deadlineMs !== undefined && deadlineMs > 4000 && deadlineMs <= 5000, `${deadlineMs}`);
  });

  it("shortens the deadline to the route's bound, and answers DEADLINE_EXCEEDED past it", async () => {
    await unary(bounded.client, Buffer.from("x"), new grpc.Metadata(), {
      deadline: Date.now() + 5000,
    });
    const { deadlineMs } = echo.calls.at(-1)!;
    assert.ok(deadlineMs !== undefined && deadlineMs <= 300, `${deadlineMs}`);
    const started = Date.now();
    const slow = await unary(
      bounded.client,
      Buffer.from("x"),
      metadataOf({ "x-delay-ms": "2000" }),
    );
    assert.equal(slow.error?.code, grpc.status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 1500, "answered at the bound, not when the server finished");
  });

  it("a client's own deadline running out does not count against the target", async () => {
    const outcomesBefore = upstream.outcomes.length;
    const endsBefore = front.ends.length;
    const answer = await unary(
      front.client,
      Buffer.from("x"),
      metadataOf({ "x-delay-ms": "500" }),
      {
        deadline: Date.now() + 100,
      },
    );
    assert.equal(answer.error?.code, grpc.status.DEADLINE_EXCEEDED);
    await until(() => front.ends.length > endsBefore, "the call's end");
    // The gateway's timer and the client's own cancellation race; either way the same end.
    const { code, outcome } = front.ends.at(-1)!;
    assert.ok(code === grpc.status.DEADLINE_EXCEEDED || code === grpc.status.CANCELLED, `${code}`);
    assert.equal(outcome, undefined);
    assert.equal(upstream.outcomes.length, outcomesBefore);
  });

  it("cancels the call upstream when the client cancels", async () => {
    const call = front.client.makeServerStreamRequest(
      echoMethods.ServerStream.path,
      raw,
      raw,
      Buffer.from(JSON.stringify({ count: 1000, size: 10, intervalMs: 20 })),
    );
    call.on("error", () => {});
    await new Promise((resolve) => call.once("data", resolve));
    const cancelledBefore = echo.cancelled.length;
    call.cancel();
    await until(() => echo.cancelled.length > cancelledBefore, "the server to see the cancel");
    assert.equal(echo.cancelled.at(-1), "ServerStream");
    await until(() => front.ends.at(-1)?.code === grpc.status.CANCELLED, "the call's end");
  });
});
