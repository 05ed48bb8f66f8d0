// gatehouse token's signing: every key form, the algorithm each implies, the claims as
// written, and the keys the jwt plugin would refuse refused here, each token checked by jose.
import assert from "node:assert/strict";
import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { describe, it } from "node:test";
import { decodeProtectedHeader, jwtVerify } from "jose";
import { parseClaims, signToken, TokenError } from "./token.ts";

const secret = "0123456789abcdef0123456789abcdef"; // 32 bytes: enough for HS256
const now = Date.UTC(2030, 0, 1);
const nowSeconds = now / 1000;
const at = new Date(now);

const pem = (key: KeyObject, type: "pkcs8" | "pkcs1" | "sec1" = "pkcs8") =>
  key.export({ format: "pem", type } as never) as string;

async function verify(token: string, key: KeyObject | Uint8Array) {
  const { payload, protectedHeader } = await jwtVerify(token, key, { currentDate: at });
  return { payload, header: protectedHeader };
}

describe("signToken", () => {
  it("signs HS256 with a secret: iat now, exp an hour on, the named claims", async () => {
    const token = await signToken(
      { material: { secret }, sub: "alice", iss: "https://issuer/", aud: ["orders-api"] },
      now,
    );
    const { payload, header } = await verify(token, new TextEncoder().encode(secret));
    assert.deepEqual(header, { alg: "HS256", typ: "JWT" });
    assert.deepEqual(payload, {
      iat: nowSeconds,
      exp: nowSeconds + 3600,
      iss: "https://issuer/",
      sub: "alice",
      aud: "orders-api",
    });
  });

  it("takes --expires as a config duration, or no exp at all", async () => {
    const key = new TextEncoder().encode(secret);
    const short = await signToken({ material: { secret }, expires: "90s" }, now);
    assert.equal((await verify(short, key)).payload.exp, nowSeconds + 90);
    const forever = await signToken({ material: { secret }, expires: false }, now);
    assert.equal("exp" in (await verify(forever, key)).payload, false);
    await assert.rejects(signToken({ material: { secret }, expires: "soon" }, now), {
      message: '--expires must be a duration like 30m, 1h or 7d, not "soon"',
    });
  });

  it("keeps JSON claim values as JSON, the rest as text; --claim wins; several audiences", async () => {
    const token = await signToken(
      {
        material: { secret },
        sub: "alice",
        aud: ["a", "b"],
        claims: [
          "scope=orders:read orders:write",
          "level=3",
          "admin=true",
          'roles=["x"]',
          "sub=bob",
        ],
      },
      now,
    );
    const { payload } = await verify(token, new TextEncoder().encode(secret));
    assert.deepEqual(
      { ...payload, iat: undefined, exp: undefined },
      {
        iat: undefined,
        exp: undefined,
        sub: "bob",
        aud: ["a", "b"],
        scope: "orders:read orders:write",
        level: 3,
        admin: true,
        roles: ["x"],
      },
    );
    assert.throws(() => parseClaims(["=x"]), TokenError);
    assert.throws(() => parseClaims(["novalue"]), /--claim must be name=value, not "novalue"/);
  });

  it("signs with a PEM private key, the algorithm following the key", async () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const ec384 = generateKeyPairSync("ec", { namedCurve: "P-384" });
    const ed = generateKeyPairSync("ed25519");
    const cases: [string, string, KeyObject][] = [
      [pem(rsa.privateKey), "RS256", rsa.publicKey],
      [pem(rsa.privateKey, "pkcs1"), "RS256", rsa.publicKey],
      [pem(ec384.privateKey, "sec1"), "ES384", ec384.publicKey],
      [pem(ed.privateKey), "EdDSA", ed.publicKey],
    ];
    for (const [keyText, alg, publicKey] of cases) {
      const token = await signToken({ material: { keyText, keyFile: "key.pem" } }, now);
      assert.equal(decodeProtectedHeader(token).alg, alg);
      await verify(token, publicKey);
    }
    const ps = await signToken(
      { material: { keyText: pem(rsa.privateKey), keyFile: "key.pem" }, alg: "PS512" },
      now,
    );
    assert.equal((await verify(ps, rsa.publicKey)).header.alg, "PS512");
  });

  it("signs with a private JWK, taking its alg and kid", async () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = { ...ec.privateKey.export({ format: "jwk" }), kid: "key-2030" };
    const keyText = JSON.stringify(jwk);
    const token = await signToken({ material: { keyText, keyFile: "key.json" } }, now);
    assert.deepEqual((await verify(token, ec.publicKey)).header, {
      alg: "ES256",
      typ: "JWT",
      kid: "key-2030",
    });
    const chosen = await signToken(
      { material: { keyText, keyFile: "key.json" }, kid: "other" },
      now,
    );
    assert.equal(decodeProtectedHeader(chosen).kid, "other");
  });

  it("refuses what the jwt plugin would refuse, saying why", async () => {
    const rsa1024 = generateKeyPairSync("rsa", { modulusLength: 1024 });
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const key = (keyText: string) => ({ keyText, keyFile: "key.pem" });
    const refusals: [Parameters<typeof signToken>[0], RegExp][] = [
      [{ material: { secret: "short" } }, /^the secret is 5 bytes; HS256 needs at least 32/],
      [{ material: { secret }, alg: "HS512" }, /^the secret is 32 bytes; HS512 needs at least 64/],
      [{ material: { secret }, alg: "RS256" }, /^RS256 signs with a private key, not a secret$/],
      [{ material: { secret }, alg: "none" }, /^--alg must be one of HS256, .*, not "none"$/],
      [{ material: key(pem(rsa1024.privateKey)) }, /RS256 needs an RSA key of 2048 bits or more/],
      [{ material: key(pem(ec.privateKey)), alg: "RS256" }, /^RS256 needs an RSA key, not ec$/],
      [{ material: key(pem(ec.privateKey)), alg: "ES384" }, /^ES384 needs an EC P-384 key/],
      [{ material: key(pem(rsa.privateKey)), alg: "HS256" }, /^HS256 signs with a secret/],
      [{ material: key(pem(rsa.publicKey, "pkcs1")) }, /^key\.pem is a public key;/],
      [{ material: key("not a key") }, /^key\.pem is not a PEM private key or a JWK/],
      [
        { material: key(JSON.stringify(createPublicKey(ec.privateKey).export({ format: "jwk" }))) },
        /^key\.pem is a public JWK \(no "d"\)/,
      ],
      [{ material: key('{"keys": []}') }, /^key\.pem is a key set; give one key/],
    ];
    for (const [request, message] of refusals) {
      await assert.rejects(signToken(request, now), (error: Error) => {
        assert.ok(error instanceof TokenError, `${error.message} is a TokenError`);
        assert.match(error.message, message);
        return true;
      });
    }
  });
});
