// TLS on a proxy listener, over real sockets with certificates made by openssl: SNI picks
// the certificate, requests are proxied with X-Forwarded-Proto: https, certificates
// replaced on disk serve the next handshakes (a broken one is refused and the old one
// kept), bad files are config errors at FILE:LINE:COL, and plaintext can redirect.
import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { connect, type PeerCertificate, type TLSSocket } from "node:tls";
import { Agent, request } from "undici";
import { ConfigError } from "../../src/config/load.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { type CertificateFiles, makeCertificate } from "../helpers/certificates.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { tempLogFile } from "../helpers/log-file.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

/** The certificate a TLS handshake with `servername` (none: no SNI) is served. */
function served(port: number, servername?: string, options: { maxVersion?: "TLSv1.2" } = {}) {
  return new Promise<PeerCertificate>((resolve, reject) => {
    const socket = connect({
      port,
      host: "127.0.0.1",
      ...(servername !== undefined && { servername }),
      rejectUnauthorized: false,
      ...options,
    });
    socket.once("secureConnect", () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.once("error", reject);
  });
}

/** A TLS listener on a free port serving `server` (named api.test), asking clients for certificates `ca` signed. */
function clientCertificateListener(
  server: CertificateFiles,
  ca: CertificateFiles,
  mode: "required" | "optional",
) {
  return {
    host: "127.0.0.1",
    port: 0,
    tls: {
      certificates: [{ cert: server.cert, key: server.key }],
      clientCertificate: { ca: ca.cert, mode },
    },
  };
}

/** GET / over HTTPS to api.test on `port`, trusting `server`, showing `cert` when given. */
async function httpsGet(
  port: number,
  server: CertificateFiles,
  cert?: CertificateFiles,
  headers: Record<string, string> = {},
) {
  const dispatcher = new Agent({
    connect: {
      ca: server.pem,
      servername: "api.test",
      ...(cert && { cert: cert.pem, key: await readFile(cert.key, "utf8") }),
    },
  });
  try {
    const res = await request(`https://127.0.0.1:${port}/`, { dispatcher, headers });
    return { status: res.statusCode, body: await res.body.text() };
  } finally {
    await dispatcher.close();
  }
}

describe("tls listener", () => {
  let dir: string;
  let api: CertificateFiles;
  let shop: CertificateFiles;
  let up: Upstream;
  let gw: RunningGateway;
  const log = tempLogFile();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-tls-"));
    api = makeCertificate(dir, "api", ["api.test"]);
    shop = makeCertificate(dir, "shop", ["shop.test", "*.shop.test"]);
    up = await startUpstream((req, res) => res.end(`${req.headers["x-forwarded-proto"]}`));
    gw = await startGateway(
      testConfig({
        gateway: {
          listen: [
            {
              host: "127.0.0.1",
              port: 0,
              tls: {
                certificates: [
                  { cert: api.cert, key: api.key },
                  { cert: shop.cert, key: shop.key },
                ],
              },
            },
          ],
          log: { level: "info", destination: (await log).path },
        },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
  });
  after(async () => {
    await gw?.stop();
    await up?.close();
    await (await log).remove();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves the certificate SNI picks: by exact name, by wildcard, else the first", async () => {
    const cn = async (name?: string) => (await served(gw.port, name)).subject.CN;
    assert.equal(await cn("api.test"), "api.test");
    assert.equal(await cn("shop.test"), "shop.test");
    assert.equal(await cn("cart.shop.test"), "shop.test", "the wildcard's");
    assert.equal(await cn("a.cart.shop.test"), "api.test", "a wildcard covers one label");
    assert.equal(await cn("other.test"), "api.test", "no match: the first");
    assert.equal(await cn(), "api.test", "no SNI: the first");
  });

  it("proxies HTTPS requests and tells the upstream they came over HTTPS", async () => {
    const dispatcher = new Agent({ connect: { ca: shop.pem, servername: "www.shop.test" } });
    try {
      const res = await request(`https://127.0.0.1:${gw.port}/x`, { dispatcher });
      assert.equal(res.statusCode, 200);
      assert.equal(await res.body.text(), "https");
    } finally {
      await dispatcher.close();
    }
  });

  it("refuses TLS 1.1 clients (minVersion TLSv1.2 by default)", async () => {
    await assert.rejects(
      new Promise((resolve, reject) => {
        const socket = connect({
          port: gw.port,
          host: "127.0.0.1",
          rejectUnauthorized: false,
          minVersion: "TLSv1",
          maxVersion: "TLSv1.1",
        });
        socket.once("secureConnect", resolve);
        socket.once("error", reject);
      }),
    );
  });

  it("serves a certificate replaced on disk from the next handshake; open connections go on", async () => {
    const open = await keepAliveConnection(gw.port, "api.test");
    try {
      assert.match(await open.get("/keep"), /^HTTP\/1\.1 200 [\s\S]*https$/);
      const renewed = makeCertificate(dir, "api-renewed", ["api.test", "v2.api.test"]);
      await writeFile(api.key, await readFile(renewed.key, "utf8"));
      await writeFile(api.cert, renewed.pem);
      await until(
        async () =>
          (await served(gw.port, "api.test")).subjectaltname?.includes("v2.api.test") === true,
        "the renewed certificate is served",
        5000,
      );
      assert.match(
        await open.get("/keep"),
        /^HTTP\/1\.1 200 [\s\S]*https$/,
        "the connection opened before goes on",
      );
      assert.equal(open.certificate.subjectaltname, "DNS:api.test", "on its first certificate");
      const lines = await (await log).lines();
      assert.ok(lines.some((line) => line.msg === "certificates reloaded"));
    } finally {
      open.close();
    }
  });

  it("refuses a broken certificate written over a good one and keeps serving the good one", async () => {
    const before = await served(gw.port, "shop.test");
    await writeFile(shop.cert, "-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n");
    await until(
      async () =>
        (await (await log).lines()).some((line) =>
          line.msg.startsWith("certificate reload refused"),
        ),
      "the refusal is logged",
      5000,
    );
    const after = await served(gw.port, "shop.test");
    assert.equal(after.fingerprint256, before.fingerprint256);
  });

  it("exports each certificate's time to expiry", async () => {
    const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
    const line = metrics
      .split("\n")
      .find(
        (text) =>
          text.startsWith("gatehouse_tls_certificate_expiry_seconds{") &&
          text.includes('certificate="shop.test"'),
      );
    assert.ok(line, metrics);
    const seconds = Number(line.split(" ").at(-1));
    assert.ok(seconds > 29 * 86400 && seconds <= 30 * 86400, line);
  });
});

describe("tls config", () => {
  it("refuses at start, FILE:LINE:COL, a missing certificate and a key that is not the certificate's", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-tls-config-"));
    try {
      const one = makeCertificate(dir, "one", ["one.test"]);
      makeCertificate(dir, "two", ["two.test"]);
      const file = join(dir, "gatehouse.yaml");
      await writeFile(
        file,
        [
          "gateway:",
          "  listen:",
          "    - port: 0",
          "      tls:",
          "        certificates:",
          "          - { cert: one.pem, key: two-key.pem }",
          "          - { cert: missing.pem, key: one-key.pem }",
          "services: []",
          "routes: []",
          "",
        ].join("\n"),
      );
      const error = await validateConfigFile(file, {}, undefined, undefined, {
        staticFiles: true,
      }).then(
        () => assert.fail("accepted"),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof ConfigError, String(error));
      const lines = error.problems.map(({ line, col, message }) => `${line}:${col} ${message}`);
      assert.equal(lines.length, 2, lines.join("\n"));
      assert.match(
        lines[0]!,
        /^6:35 gateway\.listen\[0\]\.tls\.certificates\[0\]\.key: the key is not the certificate's/,
      );
      assert.match(
        lines[1]!,
        new RegExp(
          `^7:21 gateway\\.listen\\[0\\]\\.tls\\.certificates\\[1\\]\\.cert: cannot read the certificate ${join(dir, "missing.pem")}: ENOENT`,
        ),
      );
      assert.ok(one.pem.length > 0);
      // Reloads do not read the files: gateway: is static.
      await validateConfigFile(file, {});
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("tls with worker threads", () => {
  it("every worker serves a certificate replaced on disk", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-tls-workers-"));
    const cert = makeCertificate(dir, "api", ["api.test"]);
    const gw = await startGateway(
      testConfig({
        gateway: {
          workers: 2,
          listen: [
            {
              host: "127.0.0.1",
              port: 0,
              tls: { certificates: [{ cert: cert.cert, key: cert.key }] },
            },
          ],
        },
        services: [],
        routes: [],
      }),
    );
    // Each handshake on a connection of its own: the kernel spreads them over the workers.
    const names = async () => {
      const seen = new Set<string>();
      for (let i = 0; i < 8; i++)
        seen.add(String((await served(gw.port, "api.test")).subjectaltname));
      return [...seen].sort().join(" | ");
    };
    try {
      assert.equal(await names(), "DNS:api.test");
      const renewed = makeCertificate(dir, "renewed", ["api.test", "v2.api.test"]);
      await writeFile(cert.key, await readFile(renewed.key, "utf8"));
      await writeFile(cert.cert, renewed.pem);
      await until(
        async () => (await names()) === "DNS:api.test, DNS:v2.api.test",
        "every worker serves it",
        5000,
      );
    } finally {
      await gw.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("client certificates", () => {
  it("required: a client without a certificate the CA signed fails the handshake; one with it is served", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-mtls-"));
    const ca = makeCertificate(dir, "ca", ["clients-ca"]);
    const client = makeCertificate(dir, "client", ["app.clients.test"], { signer: ca });
    const stranger = makeCertificate(dir, "stranger", ["stranger.test"]);
    const server = makeCertificate(dir, "server", ["api.test"]);
    const up = await startUpstream((_req, res) => res.end("ok"));
    const gw = await startGateway(
      testConfig({
        gateway: {
          listen: [clientCertificateListener(server, ca, "required")],
        },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
    const get = async (cert?: CertificateFiles) => {
      const res = await httpsGet(gw.port, server, cert);
      return `${res.status} ${res.body}`;
    };
    try {
      assert.equal(await get(client), "200 ok");
      await assert.rejects(get(), "no certificate");
      await assert.rejects(get(stranger), "a certificate the CA did not sign");
    } finally {
      await gw.stop();
      await up.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("mtls plugin", () => {
  it("names the consumer a verified client certificate belongs to, and refuses the rest with 401", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-mtls-plugin-"));
    const ca = makeCertificate(dir, "ca", ["clients-ca"]);
    const app = makeCertificate(dir, "app", ["app.clients.test"], { signer: ca });
    const unknown = makeCertificate(dir, "unknown", ["unknown.clients.test"], { signer: ca });
    const stranger = makeCertificate(dir, "stranger", ["app.clients.test"]);
    const server = makeCertificate(dir, "server", ["api.test"]);
    const up = await startUpstream((req, res) =>
      res.end(`${req.headers["x-consumer-name"]} ${req.headers["x-client-identity"]}`),
    );
    const gw = await startGateway(
      testConfig({
        gateway: {
          listen: [clientCertificateListener(server, ca, "optional")],
        },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        consumers: [{ name: "app", credentials: { certificates: ["app.clients.test"] } }],
        routes: [
          {
            name: "all",
            match: { paths: ["/*"] },
            service: "svc",
            plugins: [{ name: "mtls", config: { upstreamHeader: "x-client-identity" } }],
          },
        ],
      }),
    );
    const get = async (cert?: CertificateFiles) => {
      const res = await httpsGet(gw.port, server, cert, { "x-client-identity": "spoofed" });
      return res.status === 200
        ? `200 ${res.body}`
        : `${res.status} ${JSON.parse(res.body).error.message}`;
    };
    try {
      assert.equal(await get(app), "200 app app.clients.test");
      assert.equal(await get(), "401 No client certificate was sent");
      assert.equal(await get(stranger), "401 The client certificate is not trusted");
      assert.equal(await get(unknown), "401 The client certificate names no consumer");
    } finally {
      await gw.stop();
      await up.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("TLS towards upstreams", () => {
  it("verifies https:// targets against the service's CA and server name, and shows its client certificate", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-upstream-tls-"));
    const ca = makeCertificate(dir, "ca", ["upstream-ca"]);
    const upstreamCert = makeCertificate(dir, "upstream", ["upstream.test"], { signer: ca });
    const gatewayCert = makeCertificate(dir, "gateway", ["gateway.clients.test"], { signer: ca });
    const upstream = createHttpsServer(
      {
        cert: upstreamCert.pem,
        key: await readFile(upstreamCert.key, "utf8"),
        ca: ca.pem,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => res.end(`hello ${(req.socket as TLSSocket).getPeerCertificate().subject.CN}`),
    );
    await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
    const url = `https://127.0.0.1:${(upstream.address() as { port: number }).port}`;
    const client = { cert: gatewayCert.pem, key: await readFile(gatewayCert.key, "utf8") };
    const service = (name: string, tls?: object) => ({
      name,
      targets: [{ url }],
      ...(tls && { tls }),
    });
    const gw = await startGateway(
      testConfig({
        services: [
          service("verified", { ca: ca.pem, serverName: "upstream.test", ...client }),
          service("system-cas", client),
          service("no-client-certificate", { ca: ca.pem, serverName: "upstream.test" }),
        ],
        routes: ["verified", "system-cas", "no-client-certificate"].map((name) => ({
          name,
          match: { paths: [`/${name}`] },
          service: name,
        })),
      }),
    );
    const get = async (path: string) => {
      const res = await request(`${gw.url}${path}`);
      const body = await res.body.text();
      return res.statusCode === 200 ? body : `${res.statusCode} ${JSON.parse(body).error.code}`;
    };
    try {
      assert.equal(await get("/verified"), "hello gateway.clients.test");
      assert.equal(await get("/system-cas"), "502 GATEHOUSE_UPSTREAM_CONNECT_FAILED");
      // Under TLS 1.3 the target refuses a missing client certificate after the handshake:
      // the connection closes as the request goes out.
      assert.equal(await get("/no-client-certificate"), "502 GATEHOUSE_UPSTREAM_BAD_RESPONSE");
    } finally {
      await gw.stop();
      await new Promise((done) => upstream.close(done));
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("refuses a CA that is not PEM, and a cert without its key, located", async () => {
    await assert.rejects(
      startGateway(
        testConfig({
          services: [
            { name: "a", targets: [{ url: "https://127.0.0.1:1" }], tls: { ca: "certs/ca.pem" } },
            {
              name: "b",
              targets: [{ url: "https://127.0.0.1:1" }],
              tls: { cert: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----" },
            },
          ],
          routes: [],
        }),
      ),
      (error: Error) =>
        /services\[0\]\.tls\.ca: expected PEM text .*\$\{file:certs\/ca\.pem\}/.test(
          error.message,
        ) && /services\[1\]\.tls\.key: cert and key go together/.test(error.message),
    );
  });
});

describe("redirectToHttps", () => {
  it("answers every plaintext request with a 308 to the same host and path over HTTPS", async () => {
    const gw = await startGateway(
      testConfig({
        gateway: { listen: [{ host: "127.0.0.1", port: 0, redirectToHttps: 8443 }] },
        services: [],
        routes: [],
      }),
    );
    try {
      const res = await request(`${gw.url}/a/b?c=1`, { headers: { host: "shop.test:8080" } });
      assert.equal(res.statusCode, 308);
      assert.equal(res.headers.location, "https://shop.test:8443/a/b?c=1");
      await res.body.text();
    } finally {
      await gw.stop();
    }
  });
});

/** One kept-alive TLS connection, sending GETs one at a time and reading each whole answer. */
async function keepAliveConnection(port: number, servername: string) {
  const socket = connect({ port, host: "127.0.0.1", servername, rejectUnauthorized: false });
  await once(socket, "secureConnect");
  const certificate = socket.getPeerCertificate();
  socket.setEncoding("utf8");
  return {
    certificate,
    get(path: string): Promise<string> {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${servername}\r\n\r\n`);
      let text = "";
      return new Promise((resolve, reject) => {
        const onData = (chunk: string) => {
          text += chunk;
          const length = /content-length: (\d+)/i.exec(text);
          const end = text.indexOf("\r\n\r\n");
          if (!length || end === -1 || text.length < end + 4 + Number(length[1])) return;
          socket.off("data", onData);
          socket.off("error", reject);
          resolve(text);
        };
        socket.on("data", onData);
        socket.once("error", reject);
      });
    },
    close: () => socket.destroy(),
  };
}
