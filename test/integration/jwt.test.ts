// The jwt plugin over real sockets, keys in the config: every supported algorithm passes
// with a valid token, and the known attacks (alg none, HS/RS confusion, self-named keys,
// path-like kids, tampering, expiry, wrong claims, oversize) are each a 401 with their own
// error code, with nothing reaching the upstream. (JWKS keys: jwt-jwks.test.ts.)
import assert from "node:assert/strict";
import { createHmac, generateKeyPairSync, type KeyObject } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { exportJWK, type JWTPayload } from "jose";
import { request } from "undici";
import { z } from "zod";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import { jwtClaimsKey } from "../../src/plugins/auth/token-claims.ts";
import { registerPlugin } from "../../src/plugins/index.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { type JwksServer, startJwksServer } from "../helpers/jwks-server.ts";
import { epochSeconds, signToken, unsignedToken, withPayload } from "../helpers/tokens.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

type Seen = { url: string; headers: Record<string, string | undefined> };

const issuer = "https://issuer.example.com";
const audience = "orders-api";
const secret = "s".repeat(64); // HS512 needs 64 bytes
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const ed = generateKeyPairSync("ed25519");
const attacker = generateKeyPairSync("rsa", { modulusLength: 2048 });
const pem = (key: KeyObject) => key.export({ type: "spki", format: "pem" }).toString();

/** Claims every route accepts: its issuer, audience, required scope, consumer alice. */
const good = (extra: JWTPayload = {}): JWTPayload => ({
  iss: issuer,
  aud: audience,
  sub: "alice",
  scope: "orders:read",
  email: "alice@example.com",
  iat: epochSeconds(Date.now()),
  exp: epochSeconds(Date.now(), 300),
  ...extra,
});

// Shows what the docs promise other plugins: the verified claims under jwtClaimsKey.
registerPlugin(
  definePlugin({
    name: "jwt-claims-probe",
    schema: z.strictObject({}),
    priority: 950,
    create: () => ({
      access(ctx) {
        const claims = ctx.get(jwtClaimsKey);
        if (claims) ctx.setUpstreamHeader("x-probe-scope", String(claims.scope));
      },
    }),
  }),
);

describe("jwt with keys in the config", () => {
  let up: Upstream;
  let gw: RunningGateway;
  let attackerJwks: JwksServer;

  const jwtRoute = (
    name: string,
    config: Record<string, unknown>,
    extra: { name: string; config?: Record<string, unknown> }[] = [],
  ) => ({
    name,
    match: { paths: [`/${name}`, `/${name}/*`] },
    service: "svc",
    plugins: [
      {
        name: "jwt",
        config: { issuer, audience, requiredClaims: ["scope"], consumerClaim: "sub", ...config },
      },
      ...extra,
    ],
  });

  before(async () => {
    up = await startUpstream(echo);
    attackerJwks = await startJwksServer([
      { ...(await exportJWK(attacker.publicKey)), kid: "evil", alg: "RS256" },
    ]);
    gw = await startGateway(
      testConfig({
        consumers: [
          { name: "alice", groups: ["admins", "ops"], credentials: { keys: ["alice-key-123"] } },
          { name: "bob" },
          { name: "guest" },
        ],
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          jwtRoute(
            "rs",
            {
              publicKey: pem(rsa.publicKey),
              algorithms: ["RS256"],
              claimsToHeaders: { email: "x-user-email", roles: "x-user-roles" },
            },
            [{ name: "jwt-claims-probe", config: {} }],
          ),
          jwtRoute("ps", { publicKey: pem(rsa.publicKey), algorithms: ["PS256"] }),
          jwtRoute("es", { publicKey: pem(ec.publicKey), algorithms: ["ES256"] }),
          jwtRoute("ed", { publicKey: pem(ed.publicKey), algorithms: ["EdDSA"] }),
          jwtRoute("hs", { secret, algorithms: ["HS256", "HS384", "HS512"] }),
          jwtRoute("aged", { secret, algorithms: ["HS256"], maxAge: "1m", leeway: "0s" }),
          jwtRoute("anon", { secret, algorithms: ["HS256"], anonymous: "guest" }),
          jwtRoute("mixed", { secret, algorithms: ["HS256"], consumerClaim: undefined }, [
            { name: "key-auth" },
          ]),
          jwtRoute("admins", { secret, algorithms: ["HS256"] }, [
            { name: "acl", config: { allow: ["admins"] } },
          ]),
          jwtRoute("places", {
            secret,
            algorithms: ["HS256"],
            query: "access_token",
            cookie: "session",
          }),
        ],
      }),
    );
  });
  after(async () => {
    await gw.stop();
    await up.close();
    await attackerJwks.close();
  });

  const call = async (path: string, token?: string, headers: Record<string, string> = {}) => {
    const res = await request(`${gw.url}${path}`, {
      headers: token === undefined ? headers : { authorization: `Bearer ${token}`, ...headers },
    });
    const body = (await res.body.json()) as Seen & { error?: { code: string; message: string } };
    return { status: res.statusCode, headers: res.headers, body };
  };

  /** The token is refused with `code`, a Bearer challenge, and the upstream never sees it. */
  const refused = async (path: string, token: string, code: string) => {
    const before = up.requests.length;
    const res = await call(path, token);
    assert.equal(res.status, 401, `${path}: ${JSON.stringify(res.body)}`);
    assert.equal(res.body.error?.code, code);
    assert.match(
      String(res.headers["www-authenticate"]),
      /^Bearer realm="gatehouse", error="invalid_token"$/,
    );
    assert.ok(!res.body.error!.message.includes(token), "the message never echoes the token");
    assert.equal(up.requests.length, before, "the upstream saw nothing");
    return res;
  };

  it("passes a valid RS256 token: consumer forwarded, token hidden, claims mapped and left for later plugins", async () => {
    const token = await signToken(rsa.privateKey, "RS256", good());
    const res = await call("/rs/orders", token);
    assert.equal(res.status, 200);
    assert.equal(res.body.headers["x-consumer-name"], "alice");
    assert.equal(res.body.headers["x-consumer-groups"], "admins, ops");
    assert.equal(res.body.headers["x-user-email"], "alice@example.com");
    assert.equal(res.body.headers["x-probe-scope"], "orders:read");
    assert.equal(res.body.headers.authorization, undefined, "hideCredentials");
  });

  it("passes valid tokens of every supported algorithm", async () => {
    const cases: [string, KeyObject | Uint8Array, string][] = [
      ["/hs", Buffer.from(secret), "HS256"],
      ["/hs", Buffer.from(secret), "HS384"],
      ["/hs", Buffer.from(secret), "HS512"],
      ["/rs", rsa.privateKey, "RS256"],
      ["/ps", rsa.privateKey, "PS256"],
      ["/es", ec.privateKey, "ES256"],
      ["/ed", ed.privateKey, "EdDSA"],
    ];
    for (const [path, key, alg] of cases) {
      const res = await call(path, await signToken(key, alg, good()));
      assert.equal(res.status, 200, `${alg}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.headers["x-consumer-name"], "alice", alg);
    }
  });

  it("answers 401 GATEHOUSE_UNAUTHORIZED with a Bearer challenge when no token is sent", async () => {
    for (const headers of [{}, { authorization: "Basic YWxpY2U6c2VjcmV0" }] as Record<
      string,
      string
    >[]) {
      const res = await call("/rs", undefined, headers);
      assert.equal(res.status, 401);
      assert.equal(res.body.error?.code, "GATEHOUSE_UNAUTHORIZED");
      assert.equal(res.headers["www-authenticate"], 'Bearer realm="gatehouse"');
    }
  });

  it("refuses alg none in every casing", async () => {
    for (const alg of ["none", "None", "NONE", "nOnE"]) {
      await refused("/rs", unsignedToken(alg, good()), "GATEHOUSE_INVALID_TOKEN");
      await refused("/hs", unsignedToken(alg, good()), "GATEHOUSE_INVALID_TOKEN");
    }
  });

  it("refuses HS256 signed with the RSA public key as the secret (algorithm confusion)", async () => {
    const token = await signToken(Buffer.from(pem(rsa.publicKey)), "HS256", good());
    const res = await refused("/rs", token, "GATEHOUSE_INVALID_TOKEN");
    assert.match(res.body.error!.message, /algorithm is not accepted/);
  });

  it("ignores jku, x5u, x5c and an embedded jwk: the token cannot name its own key", async () => {
    const jwk = await exportJWK(attacker.publicKey);
    const headers = [
      { kid: "evil", jku: attackerJwks.jwksUri },
      { kid: "evil", x5u: `${attackerJwks.url}/cert.pem` },
      { jwk },
      { jwk, x5c: ["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"] },
    ];
    for (const header of headers) {
      const token = await signToken(attacker.privateKey, "RS256", good(), header);
      await refused("/rs", token, "GATEHOUSE_INVALID_TOKEN");
    }
    assert.equal(attackerJwks.requests.length, 0, "the attacker's server was never asked");
  });

  it("treats a path-like kid as an opaque name: nothing is read", async () => {
    for (const kid of ["../../dev/null", "/etc/passwd", `${attackerJwks.url}/key`]) {
      const token = await signToken(Buffer.from("not-the-secret"), "HS256", good(), { kid });
      await refused("/hs", token, "GATEHOUSE_INVALID_TOKEN");
      await refused(
        "/rs",
        await signToken(attacker.privateKey, "RS256", good(), { kid }),
        "GATEHOUSE_INVALID_TOKEN",
      );
    }
    assert.equal(attackerJwks.requests.length, 0);
  });

  it("refuses a tampered payload under the original signature", async () => {
    const token = await signToken(rsa.privateKey, "RS256", good({ sub: "bob" }));
    const res = await refused(
      "/rs",
      withPayload(token, good({ sub: "alice" })),
      "GATEHOUSE_INVALID_TOKEN",
    );
    assert.match(res.body.error!.message, /signature does not verify/);
  });

  it("refuses a token with a critical header extension it does not understand", async () => {
    const handSigned = (header: object) => {
      const input = [header, good()]
        .map((part) => Buffer.from(JSON.stringify(part)).toString("base64url"))
        .join(".");
      return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
    };
    const plain = await call("/hs", handSigned({ alg: "HS256", "x-tenant": "a" }));
    assert.equal(plain.status, 200, "the same token without crit passes");
    const critical = handSigned({ alg: "HS256", crit: ["x-tenant"], "x-tenant": "a" });
    await refused("/hs", critical, "GATEHOUSE_INVALID_TOKEN");
  });

  it("refuses malformed tokens", async () => {
    for (const token of ["abc", "a.b", "a.b.c", "...", `${unsignedToken("HS256", good())}`]) {
      await refused("/hs", token, "GATEHOUSE_INVALID_TOKEN");
    }
  });

  it("refuses a token larger than maxTokenSize without verifying it", async () => {
    const token = await signToken(Buffer.from(secret), "HS256", good({ pad: "x".repeat(9000) }));
    const res = await refused("/hs", token, "GATEHOUSE_INVALID_TOKEN");
    assert.match(res.body.error!.message, /larger than this route accepts/);
  });

  it("refuses expired and not-yet-valid tokens with GATEHOUSE_TOKEN_EXPIRED, within the leeway they pass", async () => {
    const now = Date.now();
    const key = rsa.privateKey;
    const expired = await signToken(key, "RS256", good({ exp: epochSeconds(now, -3600) }));
    await refused("/rs", expired, "GATEHOUSE_TOKEN_EXPIRED");
    const early = await signToken(key, "RS256", good({ nbf: epochSeconds(now, 3600) }));
    await refused("/rs", early, "GATEHOUSE_TOKEN_EXPIRED");
    const skewed = await signToken(key, "RS256", good({ exp: epochSeconds(now, -5) }));
    assert.equal((await call("/rs", skewed)).status, 200, "5s past exp is inside the 30s leeway");
  });

  it("refuses a token older than maxAge by its iat", async () => {
    const old = await signToken(
      Buffer.from(secret),
      "HS256",
      good({ iat: epochSeconds(Date.now(), -120) }),
    );
    await refused("/aged", old, "GATEHOUSE_TOKEN_EXPIRED");
    const fresh = await signToken(Buffer.from(secret), "HS256", good());
    assert.equal((await call("/aged", fresh)).status, 200);
  });

  it("refuses the wrong issuer, audience, a missing required claim or an unknown consumer", async () => {
    const key = rsa.privateKey;
    const cases: [JWTPayload, RegExp][] = [
      [good({ iss: "https://evil.example.com" }), /"iss" claim is not accepted/],
      [good({ aud: "other-api" }), /"aud" claim is not accepted/],
      [good({ scope: undefined }), /no "scope" claim/],
      [good({ sub: "mallory" }), /names no known consumer/],
    ];
    for (const [claims, message] of cases) {
      const res = await refused(
        "/rs",
        await signToken(key, "RS256", claims),
        "GATEHOUSE_TOKEN_CLAIMS_REJECTED",
      );
      assert.match(res.body.error!.message, message);
    }
  });

  it("does not let the client pose as the gateway: consumer and mapped-claim headers are replaced", async () => {
    const token = await signToken(rsa.privateKey, "RS256", good({ sub: "bob", email: undefined }));
    const res = await call("/rs", token, {
      "x-consumer-groups": "admins",
      "x-user-email": "ceo@example.com",
    });
    assert.equal(res.status, 200);
    assert.equal(res.body.headers["x-consumer-name"], "bob");
    assert.equal(res.body.headers["x-consumer-groups"], undefined);
    assert.equal(res.body.headers["x-user-email"], undefined);
  });

  it("maps a list claim to one header, and leaves out a claim a header cannot carry", async () => {
    const claims = good({ roles: ["reader", "auditor"], email: "a@example.com\r\nx-evil: 1" });
    const res = await call("/rs", await signToken(rsa.privateKey, "RS256", claims));
    assert.equal(res.status, 200);
    assert.equal(res.body.headers["x-user-roles"], "reader auditor");
    assert.equal(res.body.headers["x-user-email"], undefined);
    assert.equal(res.body.headers["x-evil"], undefined);
  });

  it("reads the token from a query argument or a cookie and removes it from the upstream request", async () => {
    const token = await signToken(Buffer.from(secret), "HS256", good());
    const byQuery = await call(`/places/x?access_token=${token}&page=2`);
    assert.equal(byQuery.status, 200);
    assert.equal(byQuery.body.url, "/places/x?page=2");
    const byCookie = await call("/places/x", undefined, { cookie: `theme=dark; session=${token}` });
    assert.equal(byCookie.status, 200);
    assert.equal(byCookie.body.headers.cookie, "theme=dark");
  });

  it("sits with other authentication plugins: any one valid credential will do", async () => {
    const token = await signToken(Buffer.from(secret), "HS256", good({ sub: "nobody-in-config" }));
    const byToken = await call("/mixed", token, { "x-consumer-name": "alice" });
    assert.equal(byToken.status, 200, "a valid token without consumerClaim authenticates");
    assert.equal(
      byToken.body.headers["x-consumer-name"],
      undefined,
      "the client's claim is dropped",
    );
    const byKey = await call("/mixed", undefined, { "x-api-key": "alice-key-123" });
    assert.equal(byKey.body.headers["x-consumer-name"], "alice");
    const neither = await call("/mixed");
    assert.equal(neither.status, 401);
    assert.equal(
      neither.headers["www-authenticate"],
      'Bearer realm="gatehouse", ApiKey header="x-api-key"',
    );
    await refused("/mixed", unsignedToken("none", good()), "GATEHOUSE_INVALID_TOKEN");
  });

  it("names a consumer whose groups acl then judges", async () => {
    const alice = await call("/admins", await signToken(Buffer.from(secret), "HS256", good()));
    assert.equal(alice.status, 200);
    const bob = await call(
      "/admins",
      await signToken(Buffer.from(secret), "HS256", good({ sub: "bob" })),
    );
    assert.equal(bob.status, 403);
    assert.equal(bob.body.error?.code, "GATEHOUSE_FORBIDDEN");
  });

  it("lets the anonymous consumer through without a token, and still refuses a bad one", async () => {
    const anon = await call("/anon");
    assert.equal(anon.status, 200);
    assert.equal(anon.body.headers["x-anonymous-consumer"], "true");
    await refused("/anon", unsignedToken("none", good()), "GATEHOUSE_INVALID_TOKEN");
  });
});
