/**
 * @module test/helpers/grpc-echo-server
 * A real @grpc/grpc-js server (h2c) with one method of each kind, passing raw bytes so the
 * gateway's tests choose what is in a message: `test.v1.Echo/Unary` echoes its request,
 * `ServerStream` writes what a JSON request asks (with back-pressure), `ClientStream`
 * counts what it reads, `Bidi` echoes each message. Metadata steers failures and delays;
 * the server records calls, deadlines, cancellations and how much it has written.
 */
import * as grpc from "@grpc/grpc-js";

/** What a ServerStream request asks for (sent as JSON). */
export interface StreamOrder {
  count: number;
  size: number;
  /** End with this status after `count` messages instead of OK. */
  status?: number;
  /** Wait this long before each message. */
  intervalMs?: number;
}

export interface GrpcEchoServer {
  url: string;
  /** Every call, in order: its method, metadata and deadline (ms from the call's start). */
  calls: { method: string; metadata: grpc.Metadata; deadlineMs: number | undefined }[];
  /** Calls that saw their client cancel. */
  cancelled: string[];
  /** Messages ServerStream has handed to grpc-js (each accepted write). */
  written: number;
  /** Stops at once, cutting open connections (a target going down). */
  kill(): void;
}

/** What every kind of server call has. */
interface SurfaceCall {
  metadata: grpc.Metadata;
  getDeadline(): grpc.Deadline;
  on(event: "cancelled", listener: () => void): unknown;
}

const raw = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
function method(name: string, requestStream: boolean, responseStream: boolean) {
  return {
    path: `/test.v1.Echo/${name}`,
    requestStream,
    responseStream,
    requestSerialize: raw.serialize,
    requestDeserialize: raw.deserialize,
    responseSerialize: raw.serialize,
    responseDeserialize: raw.deserialize,
  };
}
export const echoMethods = {
  Unary: method("Unary", false, false),
  ServerStream: method("ServerStream", false, true),
  ClientStream: method("ClientStream", true, false),
  Bidi: method("Bidi", true, true),
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts the server on a free loopback port. `failWith`: every Unary call, and every
 * ClientStream call once it has read the stream, fails with this status (a server that is,
 * say, UNAVAILABLE whatever it is asked).
 */
export async function startGrpcEchoServer(
  options: { failWith?: number } = {},
): Promise<GrpcEchoServer> {
  const server = new grpc.Server();
  const state: GrpcEchoServer = {
    url: "",
    calls: [],
    cancelled: [],
    written: 0,
    kill: () => server.forceShutdown(),
  };
  const record = (name: string, call: SurfaceCall) => {
    const deadline = call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    state.calls.push({
      method: name,
      metadata: call.metadata,
      deadlineMs: Number.isFinite(at) ? Number(at) - Date.now() : undefined,
    });
    call.on("cancelled", () => state.cancelled.push(name));
  };
  /** `x-status: N` fails the call with N, `x-delay-ms` waits first. */
  const told = async (call: SurfaceCall): Promise<grpc.ServiceError | null> => {
    const delay = Number(call.metadata.get("x-delay-ms")[0] ?? 0);
    if (delay > 0) await sleep(delay);
    const status = options.failWith ?? call.metadata.get("x-status")[0];
    if (status === undefined) return null;
    return Object.assign(new Error("told to fail"), {
      code: Number(status),
      details: "told to fail: ✓",
      metadata: new grpc.Metadata(),
    });
  };
  server.addService(echoMethods, {
    Unary: async (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
      record("Unary", call);
      const failure = await told(call);
      const trailer = new grpc.Metadata();
      trailer.set("x-trailer", "kept");
      if (failure) done(failure);
      else done(null, call.request, trailer);
    },
    ServerStream: async (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      record("ServerStream", call);
      const order = JSON.parse(call.request.toString()) as StreamOrder;
      const headers = new grpc.Metadata();
      headers.set("x-stream", "headers");
      call.sendMetadata(headers);
      for (let i = 0; i < order.count && !call.cancelled; i++) {
        if (order.intervalMs) await sleep(order.intervalMs);
        const room = call.write(Buffer.alloc(order.size, i % 256));
        state.written++;
        if (!room) await new Promise((resolve) => call.once("drain", resolve));
      }
      if (call.cancelled) return;
      if (order.status) call.emit("error", { code: order.status, details: "stream failed" });
      else call.end();
    },
    ClientStream: (
      call: grpc.ServerReadableStream<Buffer, Buffer>,
      done: grpc.sendUnaryData<Buffer>,
    ) => {
      record("ClientStream", call);
      let count = 0;
      let bytes = 0;
      call.on("data", (message: Buffer) => {
        count++;
        bytes += message.length;
      });
      call.on("end", () => {
        if (options.failWith !== undefined) done({ code: options.failWith, details: "failing" });
        else done(null, Buffer.from(JSON.stringify({ count, bytes })));
      });
    },
    Bidi: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      record("Bidi", call);
      call.on("data", (message: Buffer) => call.write(message));
      call.on("end", () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  state.url = `http://127.0.0.1:${port}`;
  return state;
}
