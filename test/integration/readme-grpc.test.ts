// README's "HTTPS, HTTP/2 and gRPC" example, as printed: one HTTPS port with HTTP/2, a gRPC
// library service checked with grpc.health.v1, reached by a grpc-js client over TLS and by a
// JSON client through grpc-transcode.
import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { Agent, request } from "undici";
import { Gateway } from "../../src/gateway.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { makeCertificate } from "../helpers/certificates.ts";
import { freePort } from "../helpers/child-process.ts";
import { fixtureProtoDir, loadLibrary } from "../helpers/library-protos.ts";
import { until } from "../helpers/until.ts";

const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
const section = readme.slice(readme.indexOf("### HTTPS, HTTP/2 and gRPC"));
const example = /```yaml\n([\s\S]*?)```/.exec(section)![1]!;

const { registry } = loadLibrary().protos;
const Book = registry.getMessage("library.v1.Book")!;
const GetBookRequest = registry.getMessage("library.v1.GetBookRequest")!;
const raw = (b: Buffer) => b;
const getBook = {
  path: "/library.v1.Library/GetBook",
  requestStream: false,
  responseStream: false,
  requestSerialize: raw,
  requestDeserialize: raw,
  responseSerialize: raw,
  responseDeserialize: raw,
};

/** A library server with GetBook and grpc.health.v1 (SERVING). */
async function startLibrary() {
  const server = new grpc.Server();
  server.addService(
    { GetBook: getBook },
    {
      GetBook: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
        const { name } = fromBinary(GetBookRequest, call.request) as unknown as { name: string };
        done(null, Buffer.from(toBinary(Book, create(Book, { name, title: "Dune" }))));
      },
    },
  );
  const healthProto = fileURLToPath(new URL("../fixtures/protos/health.proto", import.meta.url));
  const health = grpc.loadPackageDefinition(loadSync(healthProto, { enums: String })) as never as {
    grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
  };
  server.addService(health.grpc.health.v1.Health.service, {
    Check: (_call: unknown, done: grpc.sendUnaryData<{ status: string }>) =>
      done(null, { status: "SERVING" }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { port, stop: () => server.forceShutdown() };
}

describe("README: HTTPS, HTTP/2 and gRPC", () => {
  it("serves the library to a gRPC client over TLS and to a JSON client", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-readme-grpc-"));
    await mkdir(join(dir, "certs"));
    const cert = makeCertificate(join(dir, "certs"), "api", ["api.example"]);
    await cp(fixtureProtoDir, join(dir, "protos"), { recursive: true });
    const library = await startLibrary();
    const port = await freePort();
    const file = join(dir, "gatehouse.yaml");
    await writeFile(
      file,
      example
        .replace("host: 0.0.0.0", "host: 127.0.0.1")
        .replace("port: 8443", `port: ${port}`)
        .replace("127.0.0.1:50051", `127.0.0.1:${library.port}`)
        .replace(
          "gateway:\n",
          "gateway:\n  log: { level: silent }\n  accessLog: { enabled: false }\n",
        ),
    );
    const gateway = new Gateway(
      await validateConfigFile(file, {}, undefined, undefined, { staticFiles: true }),
    );
    await gateway.start();
    const client = new grpc.Client(
      `127.0.0.1:${port}`,
      grpc.credentials.createSsl(Buffer.from(cert.pem)),
      { "grpc.ssl_target_name_override": "api.example" },
    );
    const dispatcher = new Agent({ connect: { ca: cert.pem, servername: "api.example" } });
    try {
      // The health check runs first: the target serves once a probe passed.
      await until(
        () => gateway.runtime.services.get("library")!.targets[0]!.health === "healthy",
        "the target passes its grpc health check",
        8000,
      );
      const request_ = Buffer.from(
        toBinary(GetBookRequest, create(GetBookRequest, { name: "shelves/7/books/1" })),
      );
      const reply = await new Promise<Buffer>((resolve, reject) =>
        client.makeUnaryRequest(getBook.path, raw, raw, request_, (error, answer) =>
          error ? reject(error) : resolve(answer!),
        ),
      );
      assert.equal((fromBinary(Book, reply) as unknown as { title: string }).title, "Dune");
      const res = await request(`https://127.0.0.1:${port}/v1/shelves/7/books/1`, { dispatcher });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(await res.body.json(), { name: "shelves/7/books/1", title: "Dune" });
    } finally {
      client.close();
      await dispatcher.close();
      await gateway.stop();
      library.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
