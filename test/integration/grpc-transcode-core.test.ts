// The transcoding core against a real @grpc/grpc-js server over a real HTTP/2 socket:
// a request mapped from JSON and framed by the gateway's own code is what the server
// reads, and its answer (messages, trailers, status details) maps back to what an HTTP
// client would get.
import assert from "node:assert/strict";
import { type ClientHttp2Session, connect } from "node:http2";
import { after, before, describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { encodeGrpcFrame, GrpcFrameDecoder } from "../../src/grpc/framing.ts";
import { compileRequestMapper } from "../../src/grpc/request-mapping.ts";
import { compileResponseMapper } from "../../src/grpc/response-mapping.ts";
import {
  decodeGrpcMessage,
  grpcErrorBody,
  httpStatusOf,
  parseGrpcStatus,
} from "../../src/grpc/status.ts";
import { decodeStatusDetails } from "../../src/grpc/status-details.ts";
import { loadLibrary } from "../helpers/library-protos.ts";

const library = loadLibrary();
const { registry } = library.protos;
const Book = registry.getMessage("library.v1.Book")!;
const CreateBookRequest = registry.getMessage("library.v1.CreateBookRequest")!;
const ListBooksRequest = registry.getMessage("library.v1.ListBooksRequest")!;
const BadRequest = registry.getMessage("google.rpc.BadRequest")!;
const Status = registry.getMessage("google.rpc.Status")!;

/** The fields of the requests the test service reads (the registry's messages are untyped). */
interface CreateBookFields {
  parent: string;
  requestId: string;
  book?: { title: string; pageCount: bigint };
}
interface ListBooksFields {
  parent: string;
  ids: bigint[];
}

/** A grpc-js method that passes raw bytes, so the test service decodes with the registry too. */
function rawMethod(name: string, serverStream: boolean): grpc.MethodDefinition<Buffer, Buffer> {
  return {
    path: `/library.v1.Library/${name}`,
    requestStream: false,
    responseStream: serverStream,
    requestSerialize: (b) => b,
    requestDeserialize: (b) => b,
    responseSerialize: (b) => b,
    responseDeserialize: (b) => b,
  };
}

let server: grpc.Server;
let session: ClientHttp2Session;

before(async () => {
  server = new grpc.Server();
  server.addService(
    { CreateBook: rawMethod("CreateBook", false), StreamBooks: rawMethod("StreamBooks", true) },
    {
      CreateBook: (
        call: grpc.ServerUnaryCall<Buffer, Buffer>,
        callback: grpc.sendUnaryData<Buffer>,
      ) => {
        const request = fromBinary(CreateBookRequest, call.request) as unknown as CreateBookFields;
        if (request.book?.title === "") {
          const details = create(Status, {
            code: 3,
            message: "title missing",
            details: [
              anyPack(
                BadRequest,
                create(BadRequest, {
                  fieldViolations: [{ field: "book.title", description: "required" }],
                }),
              ),
            ],
          });
          const metadata = new grpc.Metadata();
          metadata.set("grpc-status-details-bin", Buffer.from(toBinary(Status, details)));
          callback({ code: 3, details: "title missing: ✓", metadata });
          return;
        }
        const book = create(Book, {
          ...request.book,
          name: `${request.parent}/books/${request.requestId}`,
        });
        callback(null, Buffer.from(toBinary(Book, book)));
      },
      StreamBooks: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        const request = fromBinary(ListBooksRequest, call.request) as unknown as ListBooksFields;
        for (const id of request.ids) {
          call.write(
            Buffer.from(
              toBinary(
                Book,
                create(Book, { name: `${request.parent}/books/${id}`, pageCount: id }),
              ),
            ),
          );
        }
        call.end();
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  session = connect(`http://127.0.0.1:${port}`);
});

after(() => {
  session?.close();
  server?.forceShutdown();
});

interface GrpcAnswer {
  messages: Uint8Array[];
  trailers: Record<string, string | string[] | undefined>;
}

/** One gRPC call made the way the gateway makes it: framed bytes over an HTTP/2 stream. */
function call(path: string, message: Uint8Array): Promise<GrpcAnswer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    const decoder = new GrpcFrameDecoder();
    const messages: Uint8Array[] = [];
    let trailers: GrpcAnswer["trailers"] = {};
    stream.on("response", (headers) => {
      // A status with no message arrives as trailers-only: in the headers.
      if (headers["grpc-status"] !== undefined) trailers = headers;
    });
    stream.on("data", (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) messages.push(frame.message);
    });
    stream.on("trailers", (received) => {
      trailers = received;
    });
    stream.on("end", () => resolve({ messages, trailers }));
    stream.on("error", reject);
    stream.setTimeout(5000, () => reject(new Error("no answer in 5 s")));
    stream.end(encodeGrpcFrame(message));
  });
}

describe("transcoding core with a real gRPC server", () => {
  it("maps a JSON request to the server and its answer back to JSON", async () => {
    const match = library.rules.matcher.match("POST", "/v1/shelves/7/books")!;
    const binding = match.value;
    const request = compileRequestMapper(binding, { registry })({
      variables: match.variables,
      query: "request_id=42",
      body: JSON.stringify({ title: "Dune", pageCount: 412 }),
    });
    assert.ok(request.ok);
    const answer = await call("/library.v1.Library/CreateBook", request.bytes);
    assert.equal(parseGrpcStatus(answer.trailers["grpc-status"] as string), 0);
    assert.equal(answer.messages.length, 1);
    const json = compileResponseMapper(binding.method.output, binding.responseBody, { registry })(
      answer.messages[0],
    );
    assert.deepEqual(json.ok && JSON.parse(json.json), {
      name: "shelves/7/books/42",
      title: "Dune",
      pageCount: "412",
    });
  });

  it("turns a non-OK status with details into the error body a client gets", async () => {
    const match = library.rules.matcher.match("POST", "/v1/shelves/7/books")!;
    const request = compileRequestMapper(match.value)({
      variables: match.variables,
      query: "",
      body: "{}",
    });
    assert.ok(request.ok);
    const { trailers, messages } = await call("/library.v1.Library/CreateBook", request.bytes);
    assert.equal(messages.length, 0);
    const code = parseGrpcStatus(trailers["grpc-status"] as string);
    const details = decodeStatusDetails(trailers["grpc-status-details-bin"] as string, registry);
    assert.equal(httpStatusOf(code), 400);
    assert.deepEqual(
      grpcErrorBody(
        code,
        decodeGrpcMessage(trailers["grpc-message"] as string),
        "req-1",
        details?.details,
      ),
      {
        error: {
          code: "INVALID_ARGUMENT",
          message: "title missing: ✓",
          requestId: "req-1",
          grpcStatus: 3,
          details: [
            {
              "@type": "type.googleapis.com/google.rpc.BadRequest",
              fieldViolations: [{ field: "book.title", description: "required" }],
            },
          ],
        },
      },
    );
  });

  it("reads every message of a server stream, in order", async () => {
    const match = library.rules.matcher.match("GET", "/v1/shelves/3/books:stream")!;
    const request = compileRequestMapper(match.value)({
      variables: match.variables,
      query: "ids=1&ids=2&ids=3",
      body: undefined,
    });
    assert.ok(request.ok);
    const { messages, trailers } = await call("/library.v1.Library/StreamBooks", request.bytes);
    assert.equal(trailers["grpc-status"], "0");
    const toJson = compileResponseMapper(match.value.method.output, undefined, {
      int64AsNumber: true,
    });
    assert.deepEqual(
      messages.map((m) => {
        const result = toJson(m);
        return result.ok ? JSON.parse(result.json) : result.error;
      }),
      [1, 2, 3].map((id) => ({ name: `shelves/3/books/${id}`, pageCount: id })),
    );
  });
});
