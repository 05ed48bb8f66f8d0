// docs/http2.md, as printed: each config validates and serves HTTP/2 and HTTP/1.1 on its
// ports, and the doc's curl commands get the answers it says (HTTP/2 for --http2 and
// --http2-prior-knowledge, HTTP/1.1 for --http1.1).
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Gateway } from "../../src/gateway.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { makeCertificate } from "../helpers/certificates.ts";
import { freePort } from "../helpers/child-process.ts";
import { curl } from "../helpers/h2-client.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const doc = await readFile(join(root, "docs/http2.md"), "utf8");
const yaml = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!);
const commands = /```sh\n([\s\S]*?)```/
  .exec(doc)![1]!
  .trim()
  .split("\n")
  .map((line) => line.split(" ").slice(1));

describe("docs/http2.md", () => {
  let dir: string;
  let up: Upstream;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-h2-docs-"));
    await mkdir(join(dir, "certs"));
    makeCertificate(join(dir, "certs"), "api", ["api.example"]);
    up = await startUpstream(echo);
  });
  after(async () => {
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The doc's config on free ports, started; returns the ports it used for 8443 and 8080. */
  async function start(text: string) {
    const https = await freePort();
    const plain = await freePort();
    const file = join(dir, "gatehouse.yaml");
    await writeFile(
      file,
      text
        .replace("port: 8443", `port: ${https}`)
        .replace("port: 8080", `port: ${plain}`)
        .replaceAll("127.0.0.1:9001", `127.0.0.1:${up.port}`)
        .replaceAll("0.0.0.0", "127.0.0.1")
        .replace("gateway:\n", "gateway:\n  accessLog: { enabled: false }\n"),
    );
    const config = await validateConfigFile(file, {}, undefined, undefined, { staticFiles: true });
    const gateway = new Gateway(config);
    await gateway.start();
    return { gateway, https, plain };
  }

  it("serves the first example's curl commands over HTTP/2 and HTTP/1.1", async () => {
    const { gateway, https, plain } = await start(yaml[0]!);
    try {
      assert.equal(commands.length, 3);
      for (const args of commands) {
        const output = await curl(
          args
            .map((arg) =>
              arg
                .replace("certs/", `${dir}/certs/`)
                .replace("127.0.0.1:8080", `127.0.0.1:${plain}`)
                .replace("api.example:8443", `api.example:${https}`),
            )
            .concat(["--resolve", `api.example:${https}:127.0.0.1`]),
        );
        const expected = args.includes("--http1.1") ? /^HTTP\/1\.1 200/ : /^HTTP\/2 200/;
        assert.match(output, expected, args.join(" "));
      }
    } finally {
      await gateway.stop();
    }
  });

  it("starts the limits example and serves HTTP/2 under it", async () => {
    const { gateway, plain } = await start(yaml[1]!);
    try {
      const output = await curl(["--http2-prior-knowledge", `http://127.0.0.1:${plain}/users/2`]);
      assert.match(output, /^HTTP\/2 200/);
    } finally {
      await gateway.stop();
    }
  });
});
