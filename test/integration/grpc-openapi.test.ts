// The OpenAPI that grpc-transcode publishes describes what the gateway really serves: a real
// gateway with a transcoded route in front of a real grpc-js Library server; the document
// comes from the plugin's openapi() hook on the route's compiled chain; requests built
// from it alone (path parameters filled and percent-encoded as an OpenAPI client does, the
// body its example) reach the gRPC methods, and the answers validate against its schemas.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { request } from "undici";
import { assertValidOpenApi, documentOf, schemaValidator } from "../helpers/fragment-document.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { fixtureProtoDir, loadLibrary } from "../helpers/library-protos.ts";
import { type Node, type OpenApi, pointerOf } from "../helpers/openapi-conformance.ts";

const { registry } = loadLibrary().protos;
const message = (name: string) => registry.getMessage(`library.v1.${name}`)!;

const rawMethod = (name: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/library.v1.Library/${name}`,
  requestStream: false,
  responseStream: false,
  requestSerialize: (b) => b,
  requestDeserialize: (b) => b,
  responseSerialize: (b) => b,
  responseDeserialize: (b) => b,
});

/** A Library server: CreateBook names the book under its shelf, GetBook reads one back. */
async function startLibrary() {
  const server = new grpc.Server();
  const reply = (name: string, value: unknown) =>
    Buffer.from(toBinary(message(name), create(message(name), value as never)));
  server.addService(
    { CreateBook: rawMethod("CreateBook"), GetBook: rawMethod("GetBook") },
    {
      CreateBook: (
        call: grpc.ServerUnaryCall<Buffer, Buffer>,
        done: grpc.sendUnaryData<Buffer>,
      ) => {
        const asked = fromBinary(message("CreateBookRequest"), call.request) as unknown as {
          parent: string;
          requestId: string;
          book: Record<string, unknown>;
        };
        done(
          null,
          reply("Book", { ...asked.book, name: `${asked.parent}/books/${asked.requestId}` }),
        );
      },
      GetBook: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
        const { name } = fromBinary(message("GetBookRequest"), call.request) as unknown as {
          name: string;
        };
        done(
          null,
          reply("Book", { name, title: `the book at ${name}`, pageCount: 9007199254740993n }),
        );
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

describe("grpc-transcode's OpenAPI against the gateway serving it", () => {
  let library: Awaited<ReturnType<typeof startLibrary>>;
  let gw: RunningGateway;
  let document: OpenApi;
  let bindings: { httpMethod: string; path: string; grpcMethod: string }[];
  before(async () => {
    library = await startLibrary();
    gw = await startGateway(
      testConfig({
        services: [{ name: "library", protocol: "grpc", targets: [{ url: library.url }] }],
        routes: [
          {
            name: "books",
            match: { paths: ["/v1/*"] },
            service: "library",
            plugins: [
              {
                name: "grpc-transcode",
                config: {
                  protos: [join(fixtureProtoDir, "library/v1/library.proto")],
                  includeDirs: [fixtureProtoDir],
                  statuses: { "library.v1.Library/CreateBook": 201 },
                },
              },
            ],
          },
        ],
      }),
    );
    const hooks = gw.gateway.runtime.routesByName
      .get("books")
      ?.chain?.described?.get("grpc-transcode");
    assert.ok(hooks?.openapi, "the route's grpc-transcode instance publishes OpenAPI");
    document = documentOf(await hooks.openapi());
    bindings = hooks.describe!().bindings as typeof bindings;
  });
  after(async () => {
    await gw?.stop();
    library?.stop();
  });

  /** Sends the operation as a client reading only the document would, and checks the answer. */
  async function send(path: string, method: string, values: Record<string, string>) {
    const operation: Node = document.paths[path]![method]!;
    let url = path;
    for (const parameter of operation.parameters ?? []) {
      if (parameter.in !== "path") continue;
      const value = values[parameter.name];
      assert.ok(value !== undefined, `a value for ${parameter.name}`);
      url = url.replace(`{${parameter.name}}`, encodeURIComponent(value));
    }
    const query = new URLSearchParams(
      (operation.parameters ?? [])
        .filter((p: Node) => p.in === "query" && values[p.name] !== undefined)
        .map((p: Node) => [p.name, values[p.name]]),
    );
    const example = operation.requestBody?.content["application/json"].example;
    const res = await request(`${gw.url}${url}${query.size > 0 ? `?${query}` : ""}`, {
      method: method.toUpperCase() as "GET",
      ...(example !== undefined && {
        body: JSON.stringify(example),
        headers: { "content-type": "application/json" },
      }),
    });
    const body = (await res.body.json()) as Node;
    // A status the operation does not list is its `default` answer (an error).
    const status =
      String(res.statusCode) in operation.responses ? String(res.statusCode) : "default";
    assert.ok(
      res.statusCode < 300 || status === "default",
      `${res.statusCode}: ${JSON.stringify(body)}`,
    );
    const type = String(res.headers["content-type"]).split(";")[0]!;
    const at = pointerOf("paths", path, method, "responses", status, "content", type, "schema");
    schemaValidator(document).assertValid(at, body, `${method} ${url}`);
    return { status: res.statusCode, body, example };
  }

  it("is a valid OpenAPI 3.1 document of the route's bindings", async () => {
    await assertValidOpenApi(document);
    assert.ok(document.paths["/v1/shelves/{shelves}/books"]?.post);
  });

  it("sends the documented body to the documented path and gets the method's answer", async () => {
    const { status, body, example } = await send("/v1/shelves/{shelves}/books", "post", {
      shelves: "7",
      requestId: "42",
    });
    assert.equal(status, 201);
    assert.equal(body.name, "shelves/7/books/42");
    assert.equal(body.title, example.title);
    assert.equal(body.pageCount, example.pageCount);
  });

  it("fills a multi-segment variable segment by segment, and gets its 64-bit fields as strings", async () => {
    const { status, body } = await send("/v1/shelves/{shelves}/books/{books}", "get", {
      shelves: "7",
      books: "dune & co",
    });
    assert.equal(status, 200);
    assert.equal(body.name, "shelves/7/books/dune & co");
    assert.equal(body.pageCount, "9007199254740993");
    // Why the segments are parameters of their own: the whole name as one parameter, its
    // slashes percent-encoded as OpenAPI clients send them, is refused before routing.
    const whole = await request(`${gw.url}/v1/${encodeURIComponent("shelves/7/books/1")}`);
    await whole.body.dump();
    assert.equal(whole.statusCode, 400);
  });

  it("answers a request for a method the server lacks in the documented error shape", async () => {
    const { status, body } = await send("/v1/books/{name}", "get", { name: "1" });
    assert.equal(status, 200, "GetBook is served under its additional binding too");
    assert.equal(body.name, "1");
    const missing = await send("/v1/shelves/{shelf_id}", "get", { shelf_id: "3" });
    assert.equal(missing.status, 501);
    assert.equal(missing.body.error.code, "UNIMPLEMENTED");
  });

  it("docs/grpc.md: each template in its table is published at the OpenAPI path beside it", async () => {
    const doc = await readFile(new URL("../../docs/grpc.md", import.meta.url), "utf8");
    const section = doc.slice(doc.indexOf("### In the developer portal"));
    const rows = [...section.matchAll(/^\| `(\/[^`]+)` \| `(\/[^`]+)` \|$/gm)];
    assert.equal(rows.length, 4);
    for (const [, template, path] of rows) {
      const bound = bindings.filter((binding) => binding.path === template);
      assert.ok(bound.length > 0, `${template} is a template of the library protos`);
      for (const binding of bound) {
        const operation = document.paths[path!]?.[binding.httpMethod.toLowerCase()];
        assert.equal(operation?.["x-gatehouse-grpc-method"], binding.grpcMethod, `${template}`);
      }
    }
  });
});
