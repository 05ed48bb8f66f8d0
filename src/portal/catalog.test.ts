import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { PluginHooks } from "../pipeline/plugin.ts";
import { parseGatewayConfig } from "../runtime/validate.ts";
import { buildCatalog } from "./catalog.ts";

const document = (path: string) =>
  JSON.stringify({
    openapi: "3.0.3",
    info: { title: "t", version: "1.0.0" },
    paths: {
      [path]: { get: { summary: `GET ${path}`, responses: { 200: { description: "ok" } } } },
    },
  });

describe("buildCatalog", () => {
  let dir: string;
  let server: ReturnType<typeof createServer>;
  let origin: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-catalog-"));
    await writeFile(join(dir, "books.json"), document("/books"));
    server = createServer((req, res) => {
      if (req.url === "/films.json") res.end(document("/films"));
      else res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const config = (publish: "marked" | "all") =>
    parseGatewayConfig(
      `gateway:
  listen: [{ port: 8080 }]
  portal: { publish: ${publish} }
services:
  - { name: books, openapi: books.json, targets: [{ url: "http://127.0.0.1:1" }] }
  - { name: films, openapi: "${origin}/films.json", targets: [{ url: "http://127.0.0.1:1" }] }
  - { name: songs, openapi: "${origin}/broken.json", targets: [{ url: "http://127.0.0.1:1" }] }
  - { name: games, targets: [{ url: "http://127.0.0.1:1" }] }
routes:
  - { name: books, portal: true, match: { paths: ["/books"] }, service: books }
  - { name: films, portal: true, match: { paths: ["/films"] }, service: films }
  - { name: songs, portal: true, match: { paths: ["/songs/*"], methods: [GET] }, service: songs }
  - { name: games, match: { paths: ["/games"], methods: [GET] }, service: games }
`,
      join(dir, "gw.yaml"),
      {},
    );
  const noPlugins = { hooksOf: (): PluginHooks | undefined => undefined };

  it("reads a service's document from a file or a URL, and shows a failure as its error", async () => {
    const catalog = await buildCatalog(
      { config: config("marked"), plugins: noPlugins },
      { publish: "marked", baseDir: dir },
    );
    assert.deepEqual(
      catalog.services.map((service) => [service.name, Object.keys(service.paths)]),
      [
        ["books", ["/books"]],
        ["films", ["/films"]],
        ["songs", ["/songs/{rest}"]],
      ],
    );
    const songs = catalog.services[2]!;
    assert.equal(songs.error, "The service's OpenAPI document cannot be fetched (HTTP 500).");
    assert.ok(!songs.error.includes("127.0.0.1"), "the URL is not shown");
    assert.equal(catalog.services[0]!.version, "1.0.0");
  });

  it("publishes every route with publish: all", async () => {
    const catalog = await buildCatalog(
      { config: config("all"), plugins: noPlugins },
      { publish: "all", baseDir: dir },
    );
    assert.deepEqual(catalog.services.at(-1)!.routes, [
      { name: "games", methods: ["GET"], paths: ["/games"], auth: [], limits: [] },
    ]);
  });

  it("lists a gRPC service's routes without making HTTP operations of them", async () => {
    const grpc = parseGatewayConfig(
      `gateway:
  listen: [{ port: 8080 }]
  portal: {}
services: [{ name: greeter, protocol: grpc, targets: [{ url: "http://127.0.0.1:1" }] }]
routes: [{ name: greeter, portal: true, match: { paths: ["/helloworld.Greeter/*"] }, service: greeter }]
`,
      join(dir, "gw.yaml"),
      {},
    );
    const catalog = await buildCatalog(
      { config: grpc, plugins: noPlugins },
      { publish: "marked", baseDir: dir },
    );
    assert.deepEqual(catalog.services[0]!.paths, {});
    assert.deepEqual(catalog.services[0]!.routes[0]!.paths, ["/helloworld.Greeter/{rest}"]);
  });
});
