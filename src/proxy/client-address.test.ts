// Unit tests for finding the client address behind trusted proxies.
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { createClientAddressResolver, createTrustedPeerTest, unmapIPv4 } from "./client-address.ts";

function request(remoteAddress: string, forwardedFor?: string): IncomingMessage {
  const headers = forwardedFor === undefined ? {} : { "x-forwarded-for": forwardedFor };
  return { socket: { remoteAddress }, connection: { remoteAddress }, headers } as never;
}

describe("createClientAddressResolver", () => {
  it("takes the peer, ignoring X-Forwarded-For, when no proxy is trusted", () => {
    const resolve = createClientAddressResolver([]);
    assert.equal(resolve(request("::ffff:192.0.2.1", "203.0.113.9")), "192.0.2.1");
  });

  it("walks X-Forwarded-For right to left past trusted hops", () => {
    const resolve = createClientAddressResolver(["10.0.0.0/8", "127.0.0.1/32"]);
    assert.equal(resolve(request("127.0.0.1", "203.0.113.9, 10.1.1.1")), "203.0.113.9");
    assert.equal(resolve(request("::ffff:127.0.0.1", "203.0.113.9")), "203.0.113.9");
    // The first untrusted hop from the right is the client, whatever it claims before.
    assert.equal(resolve(request("127.0.0.1", "6.6.6.6, 198.51.100.2, 10.1.1.1")), "198.51.100.2");
  });

  it("takes an untrusted peer as the client even when it sends X-Forwarded-For", () => {
    const resolve = createClientAddressResolver(["10.0.0.0/8"]);
    assert.equal(resolve(request("192.0.2.7", "203.0.113.9")), "192.0.2.7");
  });
});

describe("createTrustedPeerTest", () => {
  it("trusts only addresses inside the configured ranges", () => {
    const trusted = createTrustedPeerTest(["127.0.0.1/32", "fd00::/8"]);
    assert.equal(trusted("127.0.0.1"), true);
    assert.equal(trusted("127.0.0.2"), false);
    assert.equal(trusted("fd00::1"), true);
    assert.equal(createTrustedPeerTest([])("127.0.0.1"), false);
  });
});

describe("unmapIPv4", () => {
  it("shows IPv4-mapped IPv6 addresses as IPv4 and leaves the rest", () => {
    assert.equal(unmapIPv4("::ffff:10.0.0.1"), "10.0.0.1");
    assert.equal(unmapIPv4("::1"), "::1");
    assert.equal(unmapIPv4("10.0.0.1"), "10.0.0.1");
  });
});
