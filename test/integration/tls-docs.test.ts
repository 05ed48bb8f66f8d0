// docs/tls.md, as printed: the HTTPS example serves its certificates by SNI and redirects
// plaintext, a key that is not its certificate's is refused with the doc's error line, and
// the mutual TLS example names the consumer of a verified client certificate.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { ConfigError, formatProblem } from "../../src/config/load.ts";
import { Gateway } from "../../src/gateway.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { makeCertificate } from "../helpers/certificates.ts";
import { freePort } from "../helpers/child-process.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const doc = await readFile(join(root, "docs/tls.md"), "utf8");
const yaml = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((match) => match[1]!);
const errorLine = /```\n(gatehouse\.yaml:\d+:\d+ [^\n]+)\n```/.exec(doc)![1]!;

describe("docs/tls.md", () => {
  let dir: string;
  let up: Upstream;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-tls-docs-"));
    await mkdir(join(dir, "certs"));
    const certs = join(dir, "certs");
    makeCertificate(certs, "api", ["api.example"]);
    makeCertificate(certs, "shop", ["shop.example", "*.shop.example"]);
    const ca = makeCertificate(certs, "clients-ca", ["clients-ca"]);
    makeCertificate(certs, "billing", ["billing.clients.example"], { signer: ca });
    up = await startUpstream((req, res) =>
      res.end(`${req.headers["x-consumer-name"]} ${req.headers["x-client-identity"]}`),
    );
  });
  after(async () => {
    await up.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** The doc's config on free ports (the upstream's port for its targets), started. */
  async function start(text: string) {
    const https = await freePort();
    const plain = await freePort();
    const file = join(dir, "gatehouse.yaml");
    await writeFile(
      file,
      text
        .replace("port: 8443", `port: ${https}`)
        .replace("port: 8080, redirectToHttps: 8443", `port: ${plain}, redirectToHttps: ${https}`)
        .replaceAll(/127\.0\.0\.1:900\d/g, `127.0.0.1:${up.port}`)
        .replaceAll("0.0.0.0", "127.0.0.1")
        // Quiet test output: no access log lines on stdout.
        .replace("gateway:\n", "gateway:\n  accessLog: { enabled: false }\n"),
    );
    const config = await validateConfigFile(file, {}, undefined, undefined, { staticFiles: true });
    const gateway = new Gateway(config);
    await gateway.start();
    return { gateway, https, plain };
  }

  const ca = (name: string) => readFile(join(dir, "certs", `${name}.pem`), "utf8");

  it("serves HTTPS with the certificate SNI picks, and redirects plaintext to it", async () => {
    const { gateway, https, plain } = await start(yaml[0]!);
    try {
      for (const [servername, trusted] of [
        ["api.example", "api"],
        ["www.shop.example", "shop"],
      ] as const) {
        const dispatcher = new Agent({ connect: { ca: await ca(trusted), servername } });
        try {
          const res = await request(`https://127.0.0.1:${https}/users/1`, { dispatcher });
          assert.equal(res.statusCode, 200, servername);
          await res.body.text();
        } finally {
          await dispatcher.close();
        }
      }
      const res = await request(`http://127.0.0.1:${plain}/users/1`, {
        headers: { host: "api.example" },
      });
      assert.equal(res.statusCode, 308);
      assert.equal(res.headers.location, `https://api.example:${https}/users/1`);
      await res.body.text();
    } finally {
      await gateway.stop();
    }
  });

  it("refuses a key that is not its certificate's with the error line it shows", async () => {
    const file = join(dir, "gatehouse.yaml");
    await writeFile(file, yaml[0]!.replace("certs/api-key.pem", "certs/shop-key.pem"));
    const error = await validateConfigFile(file, {}, undefined, undefined, {
      staticFiles: true,
    }).then(
      () => assert.fail("accepted"),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(
      error.problems.map((problem) => formatProblem(problem).replace(`${dirname(file)}/`, "")),
      [errorLine],
    );
  });

  it("loads the upstream TLS example, its PEM files read through file: references", async () => {
    const certs = join(dir, "certs");
    const ca = makeCertificate(certs, "internal-ca", ["internal-ca"]);
    makeCertificate(certs, "gateway", ["gateway.internal"], { signer: ca });
    const file = join(dir, "gatehouse.yaml");
    await writeFile(file, `gateway: { listen: [{ port: 0 }] }\nroutes: []\n${yaml[2]!}`);
    const config = await validateConfigFile(file, {});
    const tls = config.services[0]!.tls!;
    assert.equal(tls.ca?.trim(), ca.pem.trim());
    assert.equal(tls.serverName, "payments.internal");
    assert.match(tls.key!, /PRIVATE KEY/);
  });

  it("names the consumer of a verified client certificate (mutual TLS)", async () => {
    const { gateway, https } = await start(yaml[1]!);
    const get = async (client: boolean) => {
      const dispatcher = new Agent({
        connect: {
          ca: await ca("api"),
          servername: "api.example",
          ...(client && {
            cert: await ca("billing"),
            key: await readFile(join(dir, "certs", "billing-key.pem"), "utf8"),
          }),
        },
      });
      try {
        const res = await request(`https://127.0.0.1:${https}/orders/7`, { dispatcher });
        return `${res.statusCode} ${await res.body.text()}`;
      } finally {
        await dispatcher.close();
      }
    };
    try {
      assert.equal(await get(true), "200 billing billing.clients.example");
      assert.match(await get(false), /^401 .*No client certificate was sent/);
    } finally {
      await gateway.stop();
    }
  });
});
