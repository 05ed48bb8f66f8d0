// The grpc-transcode plugin through the whole gateway: HTTP/1.1 JSON in, a unary gRPC call
// to a real grpc-js server (decoding with the same protos), JSON out with the method's
// status, gRPC errors in the gateway's error shape with their details, and bad protos
// refused at FILE:LINE:COL when the config is checked.
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect as netConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { request } from "undici";
import type { ConfigError } from "../../src/config/load.ts";
import { Gateway } from "../../src/gateway.ts";
import { parseGatewayConfig, validateConfigFile } from "../../src/runtime/validate.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { fixtureProtoDir, loadLibrary, protoFolder } from "../helpers/library-protos.ts";
import { until } from "../helpers/until.ts";

const { registry } = loadLibrary().protos;
const Book = registry.getMessage("library.v1.Book")!;
const CreateBookRequest = registry.getMessage("library.v1.CreateBookRequest")!;
const BadRequest = registry.getMessage("google.rpc.BadRequest")!;
const Status = registry.getMessage("google.rpc.Status")!;

const ListBooksRequest = registry.getMessage("library.v1.ListBooksRequest")!;

const rawMethod = (
  name: string,
  responseStream = false,
): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/library.v1.Library/${name}`,
  requestStream: false,
  responseStream,
  requestSerialize: (b) => b,
  requestDeserialize: (b) => b,
  responseSerialize: (b) => b,
  responseDeserialize: (b) => b,
});

/** A Library server that creates books, and refuses one without a title with a BadRequest. */
async function startLibrary() {
  const server = new grpc.Server();
  server.addService(
    { CreateBook: rawMethod("CreateBook"), StreamBooks: rawMethod("StreamBooks", true) },
    {
      // One book per id asked for; id 99 ends the stream with NOT_FOUND where it stands.
      StreamBooks: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        const asked = fromBinary(ListBooksRequest, call.request) as unknown as {
          parent: string;
          ids: bigint[];
        };
        for (const id of asked.ids) {
          if (id === 99n) {
            call.emit("error", { code: grpc.status.NOT_FOUND, details: "no book 99" });
            return;
          }
          call.write(
            Buffer.from(
              toBinary(
                Book,
                create(Book, { name: `${asked.parent}/books/${id}`, title: `t${id}` }),
              ),
            ),
          );
        }
        call.end();
      },
      CreateBook: (
        call: grpc.ServerUnaryCall<Buffer, Buffer>,
        callback: grpc.sendUnaryData<Buffer>,
      ) => {
        const asked = fromBinary(CreateBookRequest, call.request) as unknown as {
          parent: string;
          book?: { title: string; pageCount: bigint };
        };
        if (!asked.book?.title) {
          const violation = create(BadRequest, {
            fieldViolations: [{ field: "book.title", description: "required" }],
          });
          const status = create(Status, {
            code: 3,
            message: "title missing",
            details: [anyPack(BadRequest, violation)],
          });
          const metadata = new grpc.Metadata();
          metadata.set("grpc-status-details-bin", Buffer.from(toBinary(Status, status)));
          callback({ code: 3, details: "title missing", metadata });
          return;
        }
        const book = create(Book, { ...asked.book, name: `${asked.parent}/books/1` });
        callback(null, Buffer.from(toBinary(Book, book)));
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { url: `http://127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

/** A success's JSON, or the error shape. */
type Answer = Record<string, unknown> & {
  error: {
    code: string;
    grpcStatus: number;
    message: string;
    requestId: string;
    details: unknown[];
  };
};

const plugin = {
  name: "grpc-transcode",
  config: {
    protos: [join(fixtureProtoDir, "library/v1/library.proto")],
    includeDirs: [fixtureProtoDir],
    statuses: { "library.v1.Library/CreateBook": 201 },
  },
};

describe("grpc-transcode", () => {
  let library: Awaited<ReturnType<typeof startLibrary>>;
  let gw: RunningGateway;
  before(async () => {
    library = await startLibrary();
    gw = await startGateway(
      testConfig({
        gateway: { admin: { host: "127.0.0.1", port: 0 } },
        services: [{ name: "library", protocol: "grpc", targets: [{ url: library.url }] }],
        routes: [
          { name: "books", match: { paths: ["/v1/*"] }, service: "library", plugins: [plugin] },
        ],
      }),
    );
  });
  after(async () => {
    await gw?.stop();
    library?.stop();
  });

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await request(`${gw.url}${path}`, {
      method: method as "POST",
      ...(body !== undefined && {
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
      }),
    });
    return {
      status: res.statusCode,
      headers: res.headers,
      body: (await res.body.json()) as Answer,
    };
  };

  it("maps a JSON request to a gRPC call and its answer back, with the method's status", async () => {
    const created = await call("POST", "/v1/shelves/7/books", { title: "Dune", pageCount: 412 });
    assert.equal(created.status, 201);
    assert.deepEqual(created.body, { name: "shelves/7/books/1", title: "Dune", pageCount: "412" });
  });

  it("shows the routes its bindings made in the admin API's runtime view", async () => {
    const admin = gw.gateway.addresses().admin!;
    const res = await request(`http://127.0.0.1:${admin.port}/runtime/routes/books`);
    assert.equal(res.statusCode, 200);
    const route = (await res.body.json()) as {
      pluginDetails: { "grpc-transcode": { bindings: Record<string, unknown>[] } };
    };
    const { bindings } = route.pluginDetails["grpc-transcode"];
    const of = (grpcMethod: string) => bindings.filter((b) => b.grpcMethod === grpcMethod);
    assert.deepEqual(of("library.v1.Library/CreateBook"), [
      {
        httpMethod: "POST",
        path: "/v1/{parent=shelves/*}/books",
        grpcMethod: "library.v1.Library/CreateBook",
        body: "book",
        status: 201,
      },
    ]);
    // A rule's additional_bindings are bindings of their own.
    assert.deepEqual(
      of("library.v1.Library/GetBook").map((b) => `${b.httpMethod} ${b.path}`),
      ["GET /v1/{name=shelves/*/books/*}", "GET /v1/books/{name}"],
    );
    const streaming = of("library.v1.Library/StreamBooks");
    assert.ok(streaming.length > 0 && streaming.every((b) => b.serverStreaming === true));
  });

  it("asks a client that expects 100-continue for its body", async () => {
    const body = JSON.stringify({ title: "Dune", pageCount: 412 });
    const socket = netConnect(gw.port, "127.0.0.1");
    socket.setEncoding("latin1");
    let received = "";
    socket.on("data", (chunk: string) => {
      received += chunk;
    });
    socket.write(
      `POST /v1/shelves/7/books HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`,
    );
    try {
      await until(() => received.startsWith("HTTP/1.1 100 Continue"), "100 Continue", 2000);
      socket.write(body);
      await until(() => received.includes('"title":"Dune"'), "the answer", 2000);
      assert.match(received, /HTTP\/1\.1 201 /);
    } finally {
      socket.destroy();
    }
  });

  it("answers a gRPC error in the gateway's shape, its details decoded", async () => {
    const refused = await call("POST", "/v1/shelves/7/books", { title: "" });
    assert.equal(refused.status, 400);
    const { error } = refused.body;
    assert.equal(error.code, "INVALID_ARGUMENT");
    assert.equal(error.grpcStatus, 3);
    assert.equal(error.message, "title missing");
    assert.equal(error.requestId, refused.headers["x-request-id"]);
    assert.deepEqual(error.details, [
      {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        fieldViolations: [{ field: "book.title", description: "required" }],
      },
    ]);
  });

  it("refuses a body the request message cannot take, before any call", async () => {
    const bad = await call("POST", "/v1/shelves/7/books", { title: "x", colour: "red" });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "INVALID_ARGUMENT");
    assert.match(bad.body.error.message, /colour/);
  });

  it("answers 404 for a path no rule binds, and 405 with Allow for a method it does not", async () => {
    const missing = await call("GET", "/v1/nothing/here/at/all");
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, "GATEHOUSE_ROUTE_NOT_FOUND");
    const wrong = await call("PUT", "/v1/shelves/1");
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.allow, "GET, HEAD");
  });

  const streamed = async (query: string, accept?: string) => {
    const res = await request(`${gw.url}/v1/shelves/1/books:stream?${query}`, {
      ...(accept && { headers: { accept } }),
    });
    return {
      status: res.statusCode,
      type: res.headers["content-type"],
      text: await res.body.text(),
    };
  };

  it("streams a server-streaming method as NDJSON, or as Server-Sent Events when asked", async () => {
    const ndjson = await streamed("ids=1&ids=2");
    assert.equal(ndjson.status, 200);
    assert.equal(ndjson.type, "application/x-ndjson");
    assert.deepEqual(
      ndjson.text
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
      [
        { name: "shelves/1/books/1", title: "t1" },
        { name: "shelves/1/books/2", title: "t2" },
      ],
    );
    const sse = await streamed("ids=3", "text/event-stream");
    assert.equal(sse.type, "text/event-stream");
    assert.equal(sse.text, 'data: {"name":"shelves/1/books/3","title":"t3"}\n\n');
  });

  it("ends a stream that fails after its first message with an error record, and one that fails at once with an error answer", async () => {
    const late = await streamed("ids=1&ids=99");
    assert.equal(late.status, 200);
    const [first, last] = late.text
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line));
    assert.deepEqual(first, { name: "shelves/1/books/1", title: "t1" });
    assert.equal(last.error.code, "NOT_FOUND");
    assert.equal(last.error.message, "no book 99");
    const early = await streamed("ids=99");
    assert.equal(early.status, 404);
    assert.equal(JSON.parse(early.text).error.grpcStatus, 5);
  });
});

describe("grpc-transcode config", () => {
  it("refuses a .proto that does not parse at its FILE:LINE:COL, with the config's other problems", () => {
    const dir = protoFolder({ "broken.proto": 'syntax = "proto3";\npackage x;\nmessage {\n' });
    const config = JSON.stringify(
      testConfig({
        services: [{ name: "s", protocol: "grpc", targets: [{ url: "http://127.0.0.1:1" }] }],
        routes: [
          {
            name: "r",
            match: { paths: ["/v1/*"] },
            service: "s",
            plugins: [{ name: "grpc-transcode", config: { protos: [join(dir, "broken.proto")] } }],
          },
        ],
      }),
    );
    assert.throws(
      () => parseGatewayConfig(config, "gatehouse.json", {}),
      (error: ConfigError) => {
        const [problem] = error.problems;
        assert.equal(problem?.file.endsWith("broken.proto"), true, JSON.stringify(error.problems));
        assert.equal(problem?.line, 3);
        assert.match(problem!.message, /routes\[0\]\.plugins\[0\]\.config/);
        return true;
      },
    );
  });
});

describe("docs/grpc.md: transcoding", () => {
  it("its example serves CreateBook to JSON with 201", async () => {
    const doc = await readFile(new URL("../../docs/grpc.md", import.meta.url), "utf8");
    const example = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)]
      .map((match) => match[1]!)
      .find((block) => block.includes("grpc-transcode"))!;
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-transcode-docs-"));
    await cp(fixtureProtoDir, join(dir, "protos"), { recursive: true });
    const library = await startLibrary();
    const file = join(dir, "gatehouse.yaml");
    await writeFile(
      file,
      `gateway:\n  listen: [{ host: 127.0.0.1, port: 0 }]\n  log: { level: silent }\n  accessLog: { enabled: false }\n${example.replace("http://127.0.0.1:50051", library.url)}`,
    );
    const gateway = new Gateway(await validateConfigFile(file, {}));
    await gateway.start();
    try {
      const res = await request(
        `http://127.0.0.1:${gateway.addresses().proxy[0]!.port}/v1/shelves/7/books`,
        {
          method: "POST",
          body: JSON.stringify({ title: "Dune", pageCount: 412 }),
        },
      );
      assert.equal(res.statusCode, 201);
      assert.deepEqual(await res.body.json(), {
        name: "shelves/7/books/1",
        title: "Dune",
        pageCount: "412",
      });
    } finally {
      await gateway.stop();
      library.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
