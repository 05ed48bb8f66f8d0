/**
 * @module upstream/health/grpc-probe.test
 * The `grpc` probe against real @grpc/grpc-js health servers (h2c and TLS): only SERVING
 * passes; other statuses, gRPC errors, a server that is down or silent fail.
 */
import assert from "node:assert/strict";
import { createServer, type Http2Session } from "node:http2";
import { after, describe, it } from "node:test";
import { ServerCredentials } from "@grpc/grpc-js";
import { selfSignedCertificate } from "../../../test/helpers/certificates.ts";
import { startGrpcHealthServer } from "../../../test/helpers/grpc-health-server.ts";
import { Target } from "../target.ts";
import { type GrpcProbeOptions, probeGrpc } from "./grpc-probe.ts";

const targets: Target[] = [];
function targetFor(url: string): Target {
  const target = new Target({ url, weight: 1, connectTimeout: 1000, protocol: "grpc" });
  targets.push(target);
  return target;
}
after(() => Promise.all(targets.map((target) => target.destroy())));

const probe = (url: string, options: Partial<GrpcProbeOptions> = {}, timeoutMs = 2000) =>
  probeGrpc(
    targetFor(url),
    { service: "", headers: {}, ...options },
    AbortSignal.timeout(timeoutMs),
  );

describe("grpc health probe", () => {
  it("passes when the named service is SERVING, sending its name and the check's headers", async () => {
    const server = await startGrpcHealthServer({ "library.v1.Library": "SERVING" });
    try {
      const verdict = await probe(server.url, {
        service: "library.v1.Library",
        headers: { "x-probe": "gatehouse" },
      });
      assert.deepEqual(verdict, { ok: true, kind: "success", detail: "SERVING" });
      assert.equal(server.calls[0]!.service, "library.v1.Library");
      assert.deepEqual(server.calls[0]!.metadata.get("x-probe"), ["gatehouse"]);
    } finally {
      server.close();
    }
  });

  it("asks about the server as a whole with an empty service name", async () => {
    const server = await startGrpcHealthServer({
      "": "SERVING",
      "library.v1.Library": "NOT_SERVING",
    });
    try {
      assert.equal((await probe(server.url)).ok, true);
      assert.equal(server.calls[0]!.service, "");
    } finally {
      server.close();
    }
  });

  it("fails on every status but SERVING", async () => {
    const server = await startGrpcHealthServer({
      a: "NOT_SERVING",
      b: "UNKNOWN",
      c: "SERVICE_UNKNOWN",
    });
    try {
      for (const [service, detail] of [
        ["a", "NOT_SERVING"],
        ["b", "UNKNOWN"],
        ["c", "SERVICE_UNKNOWN"],
      ] as const) {
        assert.deepEqual(await probe(server.url, { service }), {
          ok: false,
          kind: "server-error",
          detail,
        });
      }
    } finally {
      server.close();
    }
  });

  it("fails on a gRPC error status: a service the server does not know", async () => {
    const server = await startGrpcHealthServer({ "": "SERVING" });
    try {
      assert.deepEqual(await probe(server.url, { service: "nope.v1.Nope" }), {
        ok: false,
        kind: "server-error",
        detail: "grpc-status 5: unknown service",
      });
    } finally {
      server.close();
    }
  });

  it("fails as a connect failure when the server is down", async () => {
    const server = await startGrpcHealthServer({ "": "SERVING" });
    server.close();
    assert.deepEqual(await probe(server.url), {
      ok: false,
      kind: "connect-failure",
      detail: "ECONNREFUSED",
    });
  });

  it("gives up when the check's signal aborts: a server that never answers", async () => {
    const sessions: Http2Session[] = [];
    const silent = createServer();
    silent.on("session", (session) => sessions.push(session));
    silent.on("stream", (stream) => stream.resume());
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    const { port } = silent.address() as { port: number };
    try {
      const started = Date.now();
      const verdict = await probe(`http://127.0.0.1:${port}`, {}, 100);
      assert.equal(verdict.ok, false);
      assert.ok(Date.now() - started < 1000, "the probe ends with its signal");
    } finally {
      for (const session of sessions) session.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it("speaks h2 over TLS to an https:// target, verifying its certificate", async () => {
    const { key, cert } = selfSignedCertificate();
    const credentials = ServerCredentials.createSsl(null, [
      { private_key: Buffer.from(key), cert_chain: Buffer.from(cert) },
    ]);
    const server = await startGrpcHealthServer({ "": "SERVING" }, { credentials });
    try {
      assert.ok(server.url.startsWith("https://"));
      assert.deepEqual(await probe(server.url, { tls: { ca: cert } }), {
        ok: true,
        kind: "success",
        detail: "SERVING",
      });
      const untrusted = await probe(server.url);
      assert.equal(untrusted.ok, false, "a certificate no CA vouches for fails the probe");
      assert.equal(untrusted.kind, "connect-failure");
      assert.match(untrusted.detail, /SELF_SIGNED|CERT/);
    } finally {
      server.close();
    }
  });
});
