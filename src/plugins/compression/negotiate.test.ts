import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createNegotiator, type Encoding, negotiate, parseAcceptEncoding } from "./negotiate.ts";

const all: Encoding[] = ["zstd", "br", "gzip"];

describe("Accept-Encoding negotiation", () => {
  it("takes the server's order among codings the client rates alike", () => {
    assert.equal(negotiate("gzip, deflate, br, zstd", all), "zstd");
    assert.equal(negotiate("gzip, deflate, br", all), "br");
    assert.equal(negotiate("gzip, deflate, br, zstd", ["gzip", "br"]), "gzip");
    assert.equal(negotiate("deflate", all), undefined);
  });

  it("takes the coding the client rates highest", () => {
    assert.equal(negotiate("br;q=0.5, gzip;q=0.9", all), "gzip");
    assert.equal(negotiate("zstd;q=0.1, br;q=0.2, gzip;q=0.3", all), "gzip");
    assert.equal(negotiate("gzip;q=1.0, br;q=1", all), "br");
  });

  it("never sends a coding rated q=0", () => {
    assert.equal(negotiate("gzip;q=0", all), undefined);
    assert.equal(negotiate("br;q=0, gzip", all), "gzip");
    assert.equal(negotiate("*, zstd;q=0, br;q=0.000", all), "gzip");
  });

  it("rates every coding not named as `*` says", () => {
    assert.equal(negotiate("*", all), "zstd");
    assert.equal(negotiate("gzip;q=0.8, *;q=0.1", all), "gzip");
    assert.equal(negotiate("*;q=0", all), undefined);
    assert.equal(negotiate("*;q=0, gzip", all), "gzip");
  });

  it("keeps the response as it is when the client rates identity higher", () => {
    assert.equal(negotiate("identity", all), undefined);
    assert.equal(negotiate("gzip;q=0.5, identity", all), undefined);
    assert.equal(negotiate("gzip, identity;q=0.5", all), "gzip");
    // An identity the client does not name never outranks a coding it does.
    assert.equal(negotiate("gzip;q=0.1", all), "gzip");
    assert.equal(negotiate("identity;q=0, gzip", all), "gzip");
  });

  it("reads names case-insensitively, x-gzip as gzip, and skips what it cannot read", () => {
    assert.equal(negotiate("GZIP", all), "gzip");
    assert.equal(negotiate("x-gzip", all), "gzip");
    assert.equal(negotiate(" , br ;  Q=0.4 ,", all), "br");
    assert.equal(negotiate("br;q=high, gzip;q=0.2", all), "gzip");
    assert.equal(negotiate("br;q=1.5", all), undefined);
    assert.deepEqual(
      [...parseAcceptEncoding("gzip;q=0.2, gzip;q=0.7, br;level=1;q=0.3")],
      [
        ["gzip", 0.7],
        ["br", 0.3],
      ],
    );
  });

  it("sends nothing compressed to a client that names no coding", () => {
    const choose = createNegotiator(all);
    assert.equal(choose(undefined), undefined);
    assert.equal(choose(""), undefined);
    // Remembered answers are the same answers.
    assert.equal(choose("gzip, br"), "br");
    assert.equal(choose("gzip, br"), "br");
    assert.equal(choose("identity"), undefined);
    assert.equal(choose("identity"), undefined);
  });
});
