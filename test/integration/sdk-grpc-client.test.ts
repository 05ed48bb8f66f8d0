// serviceClient(name, { protocol: "grpc" }): real @grpc/grpc-js servers registered with
// `protocol: grpc` in a real gateway's registry, called through the gateway's own gRPC
// upstream layer: methods named by @bufbuild/protobuf descriptors, @grpc/grpc-js definitions
// or their path; balanced, retried on UNAVAILABLE, bounded by a deadline sent as
// grpc-timeout; failures typed with the catalogue's code and the gRPC status.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, trace } from "@opentelemetry/api";
import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import {
  GrpcCallError,
  type GrpcJsMethodDefinition,
  type GrpcServiceClient,
  type GrpcServiceClientOptions,
  serviceClient,
  withCallContext,
} from "gatehouse-gateway/sdk";
import { bundledProtoDir } from "../../src/grpc/proto-loader.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import {
  echoMethods,
  type GrpcEchoServer,
  startGrpcEchoServer,
} from "../helpers/grpc-echo-server.ts";
import { fixtureProtoDir, loadLibrary } from "../helpers/library-protos.ts";
import { registryClient } from "../helpers/registry.ts";
import { until } from "../helpers/until.ts";
import { startUpstream } from "../helpers/upstream.ts";

/** library.proto as @grpc/proto-loader loads it: grpc-js method definitions. */
const definition = loadSync("library/v1/library.proto", {
  includeDirs: [fixtureProtoDir, bundledProtoDir],
  longs: String,
});
type Book = { name: string; title: string; author?: string };
const Library = definition["library.v1.Library"] as unknown as {
  GetBook: GrpcJsMethodDefinition<{ name: string }, Book>;
  StreamBooks: GrpcJsMethodDefinition<{ parent: string; pageSize: number }, Book>;
};
/** The same file as @bufbuild/protobuf descriptors. */
const { registry: descriptors } = loadLibrary().protos;
const LibraryService = descriptors.getService("library.v1.Library")!;

interface LibraryServer {
  url: string;
  port: number;
  calls: { method: string; metadata: grpc.Metadata; deadlineMs: number | undefined }[];
  cancelled: string[];
  stop(): void;
}

/** A library server: GetBook knows `shelves/1/books/*`; StreamBooks sends `pageSize` books. */
async function startLibraryServer(): Promise<LibraryServer> {
  const server = new grpc.Server();
  const state: LibraryServer = {
    url: "",
    port: 0,
    calls: [],
    cancelled: [],
    stop: () => server.forceShutdown(),
  };
  const record = (
    method: string,
    call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
  ) => {
    const deadline = call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
    state.calls.push({
      method,
      metadata: call.metadata,
      deadlineMs: Number.isFinite(at) ? at - Date.now() : undefined,
    });
    call.on("cancelled", () => state.cancelled.push(method));
  };
  server.addService(definition["library.v1.Library"] as grpc.ServiceDefinition, {
    GetBook: (
      call: grpc.ServerUnaryCall<{ name: string }, Book>,
      done: grpc.sendUnaryData<Book>,
    ) => {
      record("GetBook", call);
      const { name } = call.request;
      if (!name.startsWith("shelves/1/books/")) {
        done({ code: grpc.status.NOT_FOUND, details: `no book ${name}` });
        return;
      }
      done(null, { name, title: `Title of ${name.split("/").at(-1)}`, author: "Frank Herbert" });
    },
    StreamBooks: async (call: grpc.ServerWritableStream<{ pageSize: number }, Book>) => {
      record("StreamBooks", call);
      for (let i = 0; i < call.request.pageSize && !call.cancelled; i++) {
        call.write({ name: `shelves/1/books/${i}`, title: `Book ${i}` });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      if (!call.cancelled) call.end();
    },
  });
  state.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  state.url = `http://127.0.0.1:${state.port}`;
  return state;
}

const portOf = (url: string) => Number(new URL(url).port);

describe("sdk serviceClient(): gRPC", () => {
  let gw: RunningGateway;
  let base: string;
  let registry: ReturnType<typeof registryClient>;
  const stops: (() => unknown)[] = [];

  before(async () => {
    gw = await startGateway(testConfig({ gateway: { admin: { port: 0 }, registry: {} } }));
    base = `http://127.0.0.1:${gw.gateway.addresses().admin!.port}`;
    registry = registryClient(base);
  });

  after(async () => {
    for (const stop of stops.reverse()) await stop();
    await gw.stop();
  });

  async function registered(service: string, id: string, port: number, protocol = "grpc") {
    const put = await registry.put(service, id, { address: "127.0.0.1", port, protocol });
    assert.equal(put.status, 201, JSON.stringify(put.body));
  }

  function client(service: string, options: Partial<GrpcServiceClientOptions> = {}) {
    const made = serviceClient(service, { registry: base, protocol: "grpc", ...options });
    stops.push(() => made.close());
    return made;
  }

  async function library(): Promise<LibraryServer> {
    const server = await startLibraryServer();
    stops.push(() => server.stop());
    return server;
  }

  async function echo(options?: { failWith?: number }): Promise<GrpcEchoServer> {
    const server = await startGrpcEchoServer(options);
    stops.push(() => server.kill());
    return server;
  }

  it("calls a registered gRPC instance with bufbuild descriptors, grpc-js definitions or a path", async () => {
    const server = await library();
    await registered("library", "l1", server.port);
    const books = client("library", { timeout: "5s" });

    // Descriptors loaded at run time, not generated: the message's fields are not typed.
    const fromDescriptor = (await books.unary(LibraryService.method.getBook!, {
      name: "shelves/1/books/7",
    })) as unknown as Book & { $typeName: string };
    assert.equal(fromDescriptor.$typeName, "library.v1.Book");
    assert.equal(fromDescriptor.title, "Title of 7");

    const fromDefinition = await books.unary(Library.GetBook, { name: "shelves/1/books/8" });
    assert.equal(fromDefinition.title, "Title of 8");
    assert.equal(fromDefinition.author, "Frank Herbert");

    const GetBookRequest = descriptors.getMessage("library.v1.GetBookRequest")!;
    const bytes = toBinary(GetBookRequest, create(GetBookRequest, { name: "shelves/1/books/9" }));
    const raw = await books.unary("/library.v1.Library/GetBook", bytes);
    assert.ok(Buffer.isBuffer(raw));
    assert.ok(raw.includes(Buffer.from("Title of 9")));

    assert.equal(server.calls.length, 3);
    for (const call of server.calls) {
      assert.match(String(call.metadata.get("x-request-id")[0]), /\S/);
      // The client's 5 s deadline travels as grpc-timeout.
      assert.ok(call.deadlineMs! > 3_000 && call.deadlineMs! <= 5_000, `${call.deadlineMs}`);
    }
  });

  it("carries the current request's id, trace and remaining deadline", async () => {
    const server = await library();
    await registered("traced", "t1", server.port);
    const traced = client("traced");
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId,
      spanId: "00f067aa0ba902b7",
      traceFlags: TraceFlags.SAMPLED,
    });
    await withCallContext(
      { requestId: "req-42", trace: parent, deadline: Date.now() + 1_500 },
      () => traced.unary(Library.GetBook, { name: "shelves/1/books/1" }),
    );
    const [call] = server.calls;
    assert.equal(call?.metadata.get("x-request-id")[0], "req-42");
    assert.match(String(call?.metadata.get("traceparent")[0]), new RegExp(`^00-${traceId}-`));
    assert.ok(call!.deadlineMs! > 500 && call!.deadlineMs! <= 1_500, `${call!.deadlineMs}`);
  });

  it("balances over the gRPC instances only, retries UNAVAILABLE, and breaks", async () => {
    const good = await echo();
    const failing = await echo({ failWith: grpc.status.UNAVAILABLE });
    const http = await startUpstream((_req, res) => res.end("not grpc"));
    stops.push(() => http.close());
    await registered("echo", "good", portOf(good.url));
    await registered("echo", "failing", portOf(failing.url));
    await registered("echo", "http", http.port, "http");
    const echoes = client("echo");
    await echoes.ready();
    assert.equal(echoes.instances.length, 3);
    for (let i = 0; i < 10; i++) {
      const answer = await echoes.unary(echoMethods.Unary, Buffer.from(`call ${i}`));
      assert.equal(answer.toString(), `call ${i}`);
    }
    assert.equal(good.calls.length, 10, "every call answered by the good instance");
    assert.ok(failing.calls.length >= 3, "round-robin sent some first tries to the failing one");
    assert.equal(http.requests.length, 0, "an HTTP instance is no gRPC target");

    // With a breaker, the failing instance gets no first try once it has opened.
    const breaking = client("echo", {
      circuitBreaker: { minRequests: 3, failureRatio: 0.5, window: "10s", openDuration: "30s" },
    });
    await breaking.ready();
    const failedBefore = failing.calls.length;
    for (let i = 0; i < 20; i++) await breaking.unary(echoMethods.Unary, Buffer.from("b"));
    assert.equal(failing.calls.length - failedBefore, 3, "its breaker opened at 3 failures");
  });

  it("fails with the catalogue's code and the gRPC status", async () => {
    const server = await library();
    const slow = await echo();
    await registered("failing-library", "l1", server.port);
    await registered("slow", "s1", portOf(slow.url));
    const books = client("failing-library");

    const notFound = await books
      .unary(Library.GetBook, { name: "shelves/9/books/1" })
      .catch((error: unknown) => error);
    assert.ok(notFound instanceof GrpcCallError, String(notFound));
    assert.equal(notFound.code, "GATEHOUSE_UPSTREAM_ERROR_STATUS");
    assert.equal(notFound.grpcStatus, 5);
    assert.equal(notFound.grpcStatusName, "NOT_FOUND");
    assert.equal(notFound.grpcMessage, "no book shelves/9/books/1");
    assert.equal(notFound.target, server.url);
    assert.equal(notFound.tries, 1, "NOT_FOUND is an answer: not retried");
    assert.equal(notFound.service, "failing-library");

    const none = await client("nobody-home")
      .unary(Library.GetBook, { name: "x" })
      .catch((error: unknown) => error);
    assert.ok(none instanceof GrpcCallError);
    assert.equal(none.code, "GATEHOUSE_NO_AVAILABLE_TARGET");
    assert.equal(none.grpcStatusName, "UNAVAILABLE");
    assert.equal(none.tries, 0);

    const started = Date.now();
    const late = await client("slow", { timeout: 200, retries: 0 })
      .unary(echoMethods.Unary, Buffer.from("x"), { metadata: { "x-delay-ms": "1000" } })
      .catch((error: unknown) => error);
    assert.ok(late instanceof GrpcCallError);
    assert.equal(late.code, "GATEHOUSE_UPSTREAM_TIMEOUT");
    assert.equal(late.grpcStatusName, "DEADLINE_EXCEEDED");
    assert.ok(Date.now() - started < 800, "the deadline ended it");
    assert.ok(slow.calls[0]!.deadlineMs! <= 200, "the instance was told the deadline");

    server.stop();
    const gone = await books
      .unary(Library.GetBook, { name: "shelves/1/books/1" })
      .catch((error: unknown) => error);
    assert.ok(gone instanceof GrpcCallError);
    assert.equal(gone.code, "GATEHOUSE_UPSTREAM_CONNECT_FAILED");
    assert.equal(gone.grpcStatusName, "UNAVAILABLE");

    const aborted = new AbortController();
    const pending = client("slow").unary(echoMethods.Unary, Buffer.from("x"), {
      metadata: { "x-delay-ms": "1000" },
      signal: aborted.signal,
    });
    await until(() => slow.calls.length === 2, "the call to reach the instance");
    aborted.abort(new Error("no longer wanted"));
    await assert.rejects(pending, /no longer wanted/);
    await until(() => slow.cancelled.length === 1, "the instance to see the cancellation");

    await assert.rejects(books.unary("GetBook", new Uint8Array()), /not of the form/);
    await assert.rejects(
      books.unary(LibraryService.method.streamBooks!, { parent: "shelves/1" }),
      /is not a unary method/,
    );
    assert.throws(
      () => books.serverStream(Library.GetBook, { name: "x" }),
      /is not a server-streaming method/,
    );
  });

  it("streams a server-streaming method's messages, and cancels it when the reader leaves", async () => {
    const server = await library();
    await registered("streaming", "l1", server.port);
    const books = client("streaming");

    const titles: string[] = [];
    for await (const book of books.serverStream(LibraryService.method.streamBooks!, {
      parent: "shelves/1",
      pageSize: 5,
    })) {
      titles.push((book as unknown as Book).title);
    }
    assert.deepEqual(titles, ["Book 0", "Book 1", "Book 2", "Book 3", "Book 4"]);

    const first: string[] = [];
    for await (const book of books.serverStream(Library.StreamBooks, {
      parent: "shelves/1",
      pageSize: 1000,
    })) {
      first.push(book.name);
      if (first.length === 3) break;
    }
    assert.deepEqual(first, ["shelves/1/books/0", "shelves/1/books/1", "shelves/1/books/2"]);
    await until(() => server.cancelled.includes("StreamBooks"), "the instance to see the cancel");

    const failing = await echo();
    await registered("failing-stream", "e1", portOf(failing.url));
    const stream = client("failing-stream").serverStream(
      echoMethods.ServerStream,
      Buffer.from(JSON.stringify({ count: 2, size: 3, status: grpc.status.ABORTED })),
    );
    const received: Buffer[] = [];
    await assert.rejects(
      (async () => {
        for await (const message of stream) received.push(message);
      })(),
      (error: unknown) =>
        error instanceof GrpcCallError &&
        error.code === "GATEHOUSE_UPSTREAM_ERROR_STATUS" &&
        error.grpcStatusName === "ABORTED",
    );
    assert.equal(received.length, 2, "the messages before the status");
  });

  // Last: the tracer provider it registers stays the SDK tracer's for the rest of the process.
  it("records a client span for each call, whose context the instance receives", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({
      spanProcessors: [new SimpleSpanProcessor({ exporter })],
    });
    trace.setGlobalTracerProvider(provider);
    try {
      const server = await library();
      await registered("spans", "l1", server.port);
      const books = client("spans");
      await books.unary(Library.GetBook, { name: "shelves/1/books/1" });
      await books.unary(Library.GetBook, { name: "nowhere" }).catch(() => {});
      const [ok, failed] = exporter.getFinishedSpans();
      assert.equal(ok?.name, "library.v1.Library/GetBook");
      assert.equal(ok?.kind, SpanKind.CLIENT);
      assert.equal(ok?.attributes["rpc.system"], "grpc");
      assert.equal(ok?.attributes["rpc.service"], "library.v1.Library");
      assert.equal(ok?.attributes["rpc.method"], "GetBook");
      assert.equal(ok?.attributes["rpc.grpc.status_code"], 0);
      assert.equal(ok?.attributes["server.port"], server.port);
      assert.equal(failed?.attributes["rpc.grpc.status_code"], 5);
      assert.equal(failed?.status.code, SpanStatusCode.ERROR);
      const { traceId, spanId } = ok!.spanContext();
      assert.match(
        String(server.calls[0]?.metadata.get("traceparent")[0]),
        new RegExp(`^00-${traceId}-${spanId}-01$`),
      );
    } finally {
      await provider.shutdown();
    }
  });
});

// Keeps the type of a client honest: serviceClient with protocol grpc gives a GrpcServiceClient.
export type _GrpcClient = GrpcServiceClient;
