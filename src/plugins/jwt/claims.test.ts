// A remembered token is re-judged in time by timeRefusal instead of jose: the two must
// agree at every second around exp, nbf and iat + maxAge, with and without leeway.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type JWTPayload, jwtVerify, SignJWT } from "jose";
import { refusalFor, timeRefusal } from "./claims.ts";
import { KeySetUnavailableError, UnknownKeyError } from "./keys.ts";

const secret = new TextEncoder().encode("k".repeat(32));
const t0 = 1_800_000_000;

async function joseVerdict(
  token: string,
  nowSeconds: number,
  leeway: number,
  maxAge: number | undefined,
): Promise<string | undefined> {
  try {
    await jwtVerify(token, secret, {
      algorithms: ["HS256"],
      currentDate: new Date(nowSeconds * 1000 + 999),
      clockTolerance: leeway,
      maxTokenAge: maxAge,
    });
    return undefined;
  } catch (error) {
    return refusalFor(error).message;
  }
}

describe("timeRefusal", () => {
  it("agrees with jose's jwtVerify around exp, nbf and maxAge", async () => {
    const payloads: JWTPayload[] = [
      { exp: t0 + 10 },
      { nbf: t0 + 10 },
      { iat: t0 },
      { iat: t0 + 20 },
      { iat: t0, nbf: t0 + 5, exp: t0 + 30 },
    ];
    for (const payload of payloads) {
      const token = await new SignJWT(payload).setProtectedHeader({ alg: "HS256" }).sign(secret);
      for (const [leeway, maxAge] of [
        [0, undefined],
        [5, undefined],
        [0, 15],
        [5, 15],
        [0.5, 15],
      ] as const) {
        if (maxAge !== undefined && payload.iat === undefined) continue;
        for (let now = t0 - 10; now <= t0 + 60; now++) {
          const expected = await joseVerdict(token, now, leeway, maxAge);
          const actual = timeRefusal(payload, now * 1000 + 999, leeway, maxAge)?.message;
          assert.equal(
            actual,
            expected,
            `${JSON.stringify(payload)} at +${now - t0}s, leeway ${leeway}, maxAge ${maxAge}`,
          );
        }
      }
    }
  });
});

describe("refusalFor", () => {
  it("maps key-source errors to 401 and 503, and anything unexpected to a refusal, never a pass", () => {
    assert.equal(refusalFor(new UnknownKeyError("x")).code, "GATEHOUSE_INVALID_TOKEN");
    assert.equal(refusalFor(new KeySetUnavailableError("x")).code, "GATEHOUSE_AUTH_UNAVAILABLE");
    assert.equal(refusalFor(new TypeError("boom")).code, "GATEHOUSE_INVALID_TOKEN");
  });
});
