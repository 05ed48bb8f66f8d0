// grpc-timeout read and written as the gRPC spec has it, and a call's deadline: the
// client's, or the route's bound when that is shorter (and only then the gateway's).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { callDeadline, formatGrpcTimeout, parseGrpcTimeout } from "./deadline.ts";

describe("grpc-timeout", () => {
  it("reads every unit, and nothing from a malformed value", () => {
    assert.equal(parseGrpcTimeout("2H"), 7_200_000);
    assert.equal(parseGrpcTimeout("3M"), 180_000);
    assert.equal(parseGrpcTimeout("5S"), 5000);
    assert.equal(parseGrpcTimeout("250m"), 250);
    assert.equal(parseGrpcTimeout("1500u"), 1.5);
    assert.equal(parseGrpcTimeout("2000000n"), 2);
    for (const bad of ["", "5", "5s", "123456789S", "-1S", "1.5S"]) {
      assert.equal(parseGrpcTimeout(bad), undefined, bad);
    }
    assert.equal(parseGrpcTimeout(undefined), undefined);
  });

  it("writes milliseconds, rounded up, and a coarser unit past eight digits", () => {
    assert.equal(formatGrpcTimeout(250), "250m");
    assert.equal(formatGrpcTimeout(0.2), "1m");
    assert.equal(formatGrpcTimeout(99.01), "100m");
    assert.equal(formatGrpcTimeout(200_000_000), "200000S");
    assert.equal(formatGrpcTimeout(1e12), "16666667M");
    assert.equal(formatGrpcTimeout(1e13), "2777778H");
    assert.equal(formatGrpcTimeout(1e16), "99999999H");
  });
});

describe("a call's deadline", () => {
  it("is the client's when it is the shorter, and then not the gateway's", () => {
    assert.deepEqual(callDeadline("100m", 5000, 1000), { at: 1100, fromGateway: false });
    assert.deepEqual(callDeadline("100m", 0, 1000), { at: 1100, fromGateway: false });
  });

  it("is the route's bound when that is shorter, or when the client sent none", () => {
    assert.deepEqual(callDeadline("10S", 300, 1000), { at: 1300, fromGateway: true });
    assert.deepEqual(callDeadline(undefined, 300, 1000), { at: 1300, fromGateway: true });
    assert.deepEqual(callDeadline("bogus", 300, 1000), { at: 1300, fromGateway: true });
  });

  it("is none when neither sets one", () => {
    assert.deepEqual(callDeadline(undefined, 0, 1000), { at: undefined, fromGateway: false });
  });
});
