// The JWKS key source against real HTTP servers: what it fetches, when, and what it makes
// of bad answers. (The flood, rotation and stale-set behaviour through a gateway are in
// test/integration/jwt-jwks.test.ts.)
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, describe, it } from "node:test";
import { exportJWK, type JWTHeaderParameters } from "jose";
import { startJwksServer } from "../../../test/helpers/jwks-server.ts";
import { ManualClock } from "../../upstream/clock.ts";
import { JwksKeySource } from "./jwks.ts";
import { KeySetUnavailableError, UnknownKeyError } from "./keys.ts";

const rsaJwk = async (kid?: string) => ({
  ...(await exportJWK(generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey)),
  ...(kid === undefined ? {} : { kid }),
});

const header = (kid?: string, alg = "RS256") =>
  ({ alg, ...(kid ? { kid } : {}) }) as JWTHeaderParameters;

function source(url: string, clock = new ManualClock(), timeout = 1000) {
  return new JwksKeySource({
    url,
    algorithms: ["RS256", "ES256"],
    cacheTtl: 600_000,
    cooldown: 30_000,
    timeout,
    clock,
  });
}

/** A server that answers every request with `handler`. */
async function serve(
  handler: Parameters<typeof createServer>[1],
): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`, server };
}

describe("JwksKeySource", () => {
  const closers: (() => unknown)[] = [];
  after(async () => {
    for (const close of closers) await close();
  });

  it("shares one fetch among concurrent requests for unknown kids", async () => {
    const jwks = await startJwksServer([await rsaJwk("a")]);
    closers.push(jwks.close);
    const keys = source(jwks.jwksUri);
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) => keys.keyFor(header(`random-${i}`))),
    );
    assert.ok(results.every((r) => r.status === "rejected" && r.reason instanceof UnknownKeyError));
    assert.equal(jwks.requests.length, 1);
    assert.ok(await keys.keyFor(header("a")));
    assert.equal(jwks.requests.length, 1);
  });

  it("verifies a token without kid only when one key of the set fits its alg", async () => {
    const one = await startJwksServer([await rsaJwk()]);
    const two = await startJwksServer([await rsaJwk("a"), await rsaJwk("b")]);
    closers.push(one.close, two.close);
    assert.ok(await source(one.jwksUri).keyFor(header()));
    await assert.rejects(
      Promise.resolve(source(two.jwksUri).keyFor(header())),
      /no kid and the key set holds several RS256 keys/,
    );
    await assert.rejects(
      Promise.resolve(source(one.jwksUri).keyFor(header(undefined, "ES256"))),
      UnknownKeyError,
    );
  });

  it("treats non-200, non-JSON, a redirect and an oversized set as a failed fetch", async () => {
    const attacker = await startJwksServer([await rsaJwk("a")]);
    closers.push(attacker.close);
    const answers: [number, Record<string, string>, string][] = [
      [500, {}, "oops"],
      [200, {}, "not json"],
      [200, {}, '{"keys": 5}'],
      [302, { location: attacker.jwksUri }, ""],
      [200, {}, JSON.stringify({ keys: [], pad: "x".repeat(1024 * 1024) })],
    ];
    for (const [status, headers, body] of answers) {
      const { url, server } = await serve((_req, res) => res.writeHead(status, headers).end(body));
      closers.push(() => server.close());
      await assert.rejects(
        Promise.resolve(source(url).keyFor(header("a"))),
        KeySetUnavailableError,
      );
    }
    assert.equal(attacker.requests.length, 0, "a redirect is not followed");
  });

  it("gives up on a key set that does not arrive within the timeout", async () => {
    const { url, server } = await serve(() => {}); // never answers
    closers.push(
      () => server.closeAllConnections(),
      () => server.close(),
    );
    const started = performance.now();
    await assert.rejects(
      Promise.resolve(source(url, new ManualClock(), 100).keyFor(header("a"))),
      KeySetUnavailableError,
    );
    assert.ok(performance.now() - started < 1000);
  });

  it("bumps its generation only when the set changes", async () => {
    const jwks = await startJwksServer([await rsaJwk("a")]);
    closers.push(jwks.close);
    const clock = new ManualClock();
    const keys = source(jwks.jwksUri, clock);
    await keys.keyFor(header("a"));
    assert.equal(keys.generation, 1);
    clock.advance(30_000);
    await assert.rejects(Promise.resolve(keys.keyFor(header("b"))), UnknownKeyError);
    assert.equal(keys.generation, 1, "same document fetched again");
    jwks.keys = [...jwks.keys, await rsaJwk("b")];
    clock.advance(30_000);
    assert.ok(await keys.keyFor(header("b")));
    assert.equal(keys.generation, 2);
  });
});
