// The jwt plugin with keys from a real JWKS endpoint, time moved by hand: the key set is
// fetched once, a flood of unknown kids costs at most one fetch per cooldown, a rotated-in
// key is found by that fetch, a stale set keeps serving when the issuer is down, and with
// nothing cached the answer is 503. The plugin runs under the name "jwt-clocked": the
// same plugin as "jwt", built with the test's clock.
import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject, randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { exportJWK, type JWTPayload } from "jose";
import { request } from "undici";
import { registerPlugin } from "../../src/plugins/index.ts";
import { createJwtPlugin } from "../../src/plugins/jwt/index.ts";
import { ManualClock } from "../../src/upstream/clock.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { type JwksServer, startJwksServer } from "../helpers/jwks-server.ts";
import { epochSeconds, signToken } from "../helpers/tokens.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

const clock = new ManualClock();
clock.advance(Date.now()); // a wall clock that only moves when the test moves it
registerPlugin(createJwtPlugin({ clock, name: "jwt-clocked" }));

const issuer = "https://issuer.example.com";
const rsa1 = generateKeyPairSync("rsa", { modulusLength: 2048 });
const rsa2 = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec1 = generateKeyPairSync("ec", { namedCurve: "P-256" });
const attacker = generateKeyPairSync("rsa", { modulusLength: 2048 });

const publicJwk = async (key: KeyObject, kid: string) => ({
  ...(await exportJWK(key)),
  kid,
  use: "sig",
});
const claims = (extra: JWTPayload = {}): JWTPayload => ({
  iss: issuer,
  sub: "alice",
  iat: epochSeconds(clock.now()),
  exp: epochSeconds(clock.now(), 300),
  ...extra,
});
const cooldown = 30_000;

/** Waits (briefly) for what a background fetch does; fails rather than hang. */
async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 2000) assert.fail("timed out waiting for the background fetch");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("jwt with a JWKS endpoint", () => {
  let up: Upstream;
  let gw: RunningGateway;
  let jwks: JwksServer;
  let downJwks: JwksServer;
  let attackerJwks: JwksServer;

  before(async () => {
    up = await startUpstream(echo);
    jwks = await startJwksServer([
      await publicJwk(rsa1.publicKey, "rsa-1"),
      await publicJwk(ec1.publicKey, "ec-1"),
      // An encryption key and a symmetric key are published too, and never used.
      { ...(await publicJwk(attacker.publicKey, "enc-1")), use: "enc" },
      { kty: "oct", k: "c2VjcmV0", kid: "oct-1" },
    ]);
    downJwks = await startJwksServer();
    downJwks.failWith = 503;
    attackerJwks = await startJwksServer([await publicJwk(attacker.publicKey, "evil")]);
    const plugin = (jwksUri: string) => ({
      name: "jwt-clocked",
      config: {
        jwksUri,
        algorithms: ["RS256", "ES256"],
        issuer,
        consumerClaim: "sub",
        jwks: { cooldown: "30s", cacheTtl: "10m", timeout: "1s" },
      },
    });
    gw = await startGateway(
      testConfig({
        consumers: [{ name: "alice", groups: ["admins"] }],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          {
            name: "api",
            match: { paths: ["/api/*"] },
            service: "svc",
            plugins: [plugin(jwks.jwksUri)],
          },
          {
            name: "down",
            match: { paths: ["/down/*"] },
            service: "svc",
            plugins: [plugin(downJwks.jwksUri)],
          },
        ],
      }),
    );
  });
  after(async () => {
    await gw.stop();
    await up.close();
    await jwks.close();
    await downJwks.close();
    await attackerJwks.close();
  });

  const call = async (path: string, token: string) => {
    const res = await request(`${gw.url}${path}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const body = (await res.body.json()) as {
      headers: Record<string, string>;
      error?: { code: string; message: string };
    };
    return { status: res.statusCode, body };
  };
  const refusedWith = async (path: string, token: string, status: number, code: string) => {
    const before = up.requests.length;
    const res = await call(path, token);
    assert.equal(res.status, status, JSON.stringify(res.body));
    assert.equal(res.body.error?.code, code);
    assert.equal(up.requests.length, before, "the upstream saw nothing");
  };
  const rsaToken = (kid: string, key = rsa1.privateKey, extra: JWTPayload = {}) =>
    signToken(key, "RS256", claims(extra), { kid });

  it("verifies RS256 and ES256 tokens against the fetched key set, fetched once", async () => {
    const rs = await call("/api/x", await rsaToken("rsa-1"));
    assert.equal(rs.status, 200, JSON.stringify(rs.body));
    assert.equal(rs.body.headers["x-consumer-name"], "alice");
    assert.equal(rs.body.headers.authorization, undefined);
    const es = await call(
      "/api/x",
      await signToken(ec1.privateKey, "ES256", claims(), { kid: "ec-1" }),
    );
    assert.equal(es.status, 200);
    assert.equal(jwks.requests.length, 1, "fetched when the gateway started, and not since");
  });

  it("refuses a kid the set does not hold, or holds only for encryption or as a secret", async () => {
    for (const kid of ["nope", "enc-1", "oct-1"]) {
      await refusedWith(
        "/api/x",
        await rsaToken(kid, attacker.privateKey),
        401,
        "GATEHOUSE_INVALID_TOKEN",
      );
    }
  });

  it("answers a flood of 200 random kids with at most one fetch per cooldown", async () => {
    const flood = async () => {
      const tokens = await Promise.all(
        Array.from({ length: 200 }, () => rsaToken(randomUUID(), attacker.privateKey)),
      );
      const statuses = await Promise.all(
        tokens.map(async (token) => (await call("/api/x", token)).status),
      );
      assert.deepEqual(new Set(statuses), new Set([401]));
    };
    const before = jwks.requests.length;
    await flood();
    assert.equal(
      jwks.requests.length,
      before,
      "inside the cooldown since the last fetch: no fetch",
    );
    clock.advance(cooldown);
    await flood();
    assert.equal(jwks.requests.length, before + 1, "one fetch for the whole flood");
    await flood();
    assert.equal(jwks.requests.length, before + 1, "and none while cooling down again");
  });

  it("picks up a rotated-in key with one refetch once the cooldown allows", async () => {
    jwks.keys = [...jwks.keys, await publicJwk(rsa2.publicKey, "rsa-2")];
    const token = await rsaToken("rsa-2", rsa2.privateKey);
    const before = jwks.requests.length;
    await refusedWith("/api/x", token, 401, "GATEHOUSE_INVALID_TOKEN");
    assert.equal(jwks.requests.length, before, "still cooling down from the flood's fetch");
    clock.advance(cooldown);
    const res = await call("/api/x", token);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(jwks.requests.length, before + 1);
    assert.equal(
      (await call("/api/x", await rsaToken("rsa-1"))).status,
      200,
      "old key still served",
    );
  });

  it("never fetches what a token's jku, x5u or jwk header points at; a path-like kid is only a name", async () => {
    const jwk = await exportJWK(attacker.publicKey);
    for (const header of [
      { kid: "evil", jku: attackerJwks.jwksUri },
      { kid: "evil", x5u: `${attackerJwks.url}/cert.pem` },
      { kid: "evil", jwk },
      { kid: "../../dev/null" },
      { kid: `${attackerJwks.url}/.well-known/jwks.json` },
    ]) {
      const token = await signToken(attacker.privateKey, "RS256", claims(), header);
      await refusedWith("/api/x", token, 401, "GATEHOUSE_INVALID_TOKEN");
    }
    assert.equal(attackerJwks.requests.length, 0);
    for (const req of jwks.requests) assert.equal(req.url, "/.well-known/jwks.json");
  });

  it("forgets a remembered token once it expires", async () => {
    const token = await rsaToken("rsa-1", rsa1.privateKey, { exp: epochSeconds(clock.now(), 60) });
    assert.equal((await call("/api/x", token)).status, 200);
    assert.equal((await call("/api/x", token)).status, 200, "remembered");
    clock.advance(60_000 + 30_000); // past exp and the 30s leeway
    await refusedWith("/api/x", token, 401, "GATEHOUSE_TOKEN_EXPIRED");
  });

  it("keeps serving the cached set when the refresh after cacheTtl fails", async () => {
    clock.advance(10 * 60_000);
    jwks.failWith = 500;
    const before = jwks.requests.length;
    try {
      for (let i = 0; i < 3; i++) {
        assert.equal((await call("/api/x", await rsaToken("rsa-1"))).status, 200);
      }
      await until(() => jwks.requests.length > before);
      assert.equal(jwks.requests.length, before + 1, "one refresh tried, in the background");
    } finally {
      jwks.failWith = undefined;
    }
    clock.advance(cooldown);
    assert.equal((await call("/api/x", await rsaToken("rsa-2", rsa2.privateKey))).status, 200);
    await until(() => jwks.requests.length > before + 1);
    assert.equal(jwks.requests.length, before + 2, "refreshed again after the cooldown");
  });

  it("stops accepting a remembered token once its key is gone from a refreshed set", async () => {
    const token = await rsaToken("rsa-2", rsa2.privateKey, {
      exp: epochSeconds(clock.now(), 3600),
    });
    assert.equal((await call("/api/x", token)).status, 200);
    jwks.keys = jwks.keys.filter((key) => (key as { kid?: string }).kid !== "rsa-2");
    clock.advance(10 * 60_000);
    assert.equal(
      (await call("/api/x", token)).status,
      200,
      "the stale set serves while it is refreshed",
    );
    let status = 200;
    for (let waited = 0; status === 200 && waited < 2000; waited += 5) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      status = (await call("/api/x", token)).status;
    }
    await refusedWith("/api/x", token, 401, "GATEHOUSE_INVALID_TOKEN");
  });

  it("answers 503 GATEHOUSE_AUTH_UNAVAILABLE when the key set cannot be fetched and none is cached", async () => {
    const token = await rsaToken("rsa-1");
    await refusedWith("/down/x", token, 503, "GATEHOUSE_AUTH_UNAVAILABLE");
    await refusedWith("/down/x", token, 503, "GATEHOUSE_AUTH_UNAVAILABLE");
    const before = downJwks.requests.length;
    clock.advance(cooldown);
    await refusedWith("/down/x", token, 503, "GATEHOUSE_AUTH_UNAVAILABLE");
    assert.equal(downJwks.requests.length, before + 1, "retried once the cooldown passed");
    downJwks.failWith = undefined;
    downJwks.keys = [await publicJwk(rsa1.publicKey, "rsa-1")];
    clock.advance(cooldown);
    assert.equal((await call("/down/x", token)).status, 200, "and recovers when the issuer does");
  });
});
