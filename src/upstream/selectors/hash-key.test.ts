// Unit tests for reading hash keys out of headers, cookies and query strings.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { compileHashKey, cookieValue, queryValue } from "./hash-key.ts";

describe("hashOn header", () => {
  const key = compileHashKey({ header: "X-Tenant" });
  const request = (value: string | string[] | undefined) => ({
    clientAddress: "10.0.0.1",
    headers: { "x-tenant": value },
    path: "/",
    query: "",
  });

  it("hashes a repeated header as one value joined with a comma and a space, as Node joins it", () => {
    assert.equal(key(request("acme")), "acme");
    assert.equal(key(request(["acme", "beta"])), key(request("acme, beta")));
    assert.equal(key(request(["acme", "beta"])), "acme, beta");
  });

  it("falls back to the client address without the header", () => {
    assert.equal(key(request(undefined)), "10.0.0.1");
    assert.equal(key(request("")), "10.0.0.1");
  });
});

describe("cookieValue", () => {
  it("finds a cookie anywhere in the header, trimmed and unquoted", () => {
    assert.equal(cookieValue("session=abc", "session"), "abc");
    assert.equal(cookieValue("a=1; session=abc; b=2", "session"), "abc");
    assert.equal(cookieValue("a=1;session= abc ;b=2", "session"), "abc");
    assert.equal(cookieValue('session="abc"', "session"), "abc");
    assert.equal(cookieValue(["a=1", "session=abc"], "session"), "abc");
    assert.equal(cookieValue("token=a=b", "token"), "a=b");
  });

  it("does not take a cookie whose name only contains the wanted one", () => {
    assert.equal(cookieValue("xsession=abc; session_id=9", "session"), "");
    assert.equal(cookieValue("flag; session", "session"), "");
    assert.equal(cookieValue(undefined, "session"), "");
  });
});

describe("queryValue", () => {
  it("finds the first value of an argument, percent- and plus-decoded", () => {
    assert.equal(queryValue("user=alice", "user"), "alice");
    assert.equal(queryValue("a=1&user=alice&user=bob", "user"), "alice");
    assert.equal(queryValue("user=a%20b", "user"), "a b");
    assert.equal(queryValue("user=a+b", "user"), "a b");
    assert.equal(queryValue("us%65r=x", "user"), "x");
    assert.equal(queryValue("user=%zz", "user"), "%zz");
  });

  it("gives nothing for a missing argument or one without a value", () => {
    assert.equal(queryValue("", "user"), "");
    assert.equal(queryValue("username=alice", "user"), "");
    assert.equal(queryValue("user&x=1", "user"), "");
  });
});
