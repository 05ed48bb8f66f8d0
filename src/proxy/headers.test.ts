// Unit tests for header rewriting between client and upstream.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  addVary,
  clientResponseHeaders,
  connectionListed,
  type ForwardingFacts,
  upstreamRequestHeaders,
} from "./headers.ts";

function facts(rawHeaders: string[], overrides: Partial<ForwardingFacts> = {}): ForwardingFacts {
  // As Node gives it: every Connection header's value, joined.
  const connection: string[] = [];
  for (let i = 0; i < rawHeaders.length; i += 2)
    if (rawHeaders[i]!.toLowerCase() === "connection") connection.push(rawHeaders[i + 1]!);
  return {
    rawHeaders,
    connection: connection.length > 0 ? connection.join(", ") : undefined,
    peerTrusted: false,
    peerAddress: "10.0.0.9",
    protocol: "http",
    host: "a.example",
    upstreamHost: "10.1.1.1:8080",
    requestId: "rid-1",
    ...overrides,
  };
}

/** The flat list as lower-cased name → values. */
function asMap(flat: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    map.set(name, [...(map.get(name) ?? []), flat[i + 1]!]);
  }
  return map;
}

describe("addVary", () => {
  const added = (headers: string[]) => {
    const list = [...headers];
    addVary(list, "Api-Version");
    return list;
  };

  it("adds a Vary when there is none, and appends to the upstream's own", () => {
    assert.deepEqual(added(["content-type", "text/plain"]), [
      "content-type",
      "text/plain",
      "vary",
      "Api-Version",
    ]);
    assert.deepEqual(added(["Vary", "Accept-Encoding"]), ["Vary", "Accept-Encoding, Api-Version"]);
    assert.deepEqual(added(["vary", " "]), ["vary", "Api-Version"]);
  });

  it("leaves a Vary that lists the header already, in any case, or says *", () => {
    assert.deepEqual(added(["vary", "accept, api-version"]), ["vary", "accept, api-version"]);
    assert.deepEqual(added(["vary", "*"]), ["vary", "*"]);
  });
});

describe("connectionListed", () => {
  it("lists the header names, lower-cased, without close and keep-alive", () => {
    assert.deepEqual([...(connectionListed("close, X-A , x-b,,Keep-Alive") ?? [])], ["x-a", "x-b"]);
    assert.equal(connectionListed("close"), undefined);
    assert.equal(connectionListed(undefined), undefined);
  });

  it("adds to the names of an earlier Connection header", () => {
    const first = connectionListed("x-a");
    assert.deepEqual([...(connectionListed("x-b", first) ?? [])], ["x-a", "x-b"]);
  });
});

describe("upstreamRequestHeaders", () => {
  it("drops hop-by-hop and Connection-listed headers, keeps the rest in order", () => {
    const out = asMap(
      upstreamRequestHeaders(
        facts([
          "Host",
          "a.example",
          "Connection",
          "keep-alive, X-Secret",
          "Keep-Alive",
          "5",
          "Proxy-Authorization",
          "x",
          "Proxy-Connection",
          "keep-alive",
          "Upgrade",
          "h2c",
          "HTTP2-Settings",
          "AAA",
          "Transfer-Encoding",
          "chunked",
          "X-Secret",
          "1",
          "Accept",
          "a",
          "accept",
          "b",
        ]),
      ),
    );
    for (const name of [
      "connection",
      "keep-alive",
      "proxy-authorization",
      "proxy-connection",
      "upgrade",
      "http2-settings",
      "transfer-encoding",
      "x-secret",
    ])
      assert.equal(out.has(name), false, name);
    assert.deepEqual(out.get("accept"), ["a", "b"]);
  });

  it("sets its own Host, forwarding headers and request id exactly once", () => {
    const out = asMap(
      upstreamRequestHeaders(
        facts([
          "Host",
          "a.example",
          "Connection",
          "Host, X-Forwarded-For, X-Request-Id",
          "X-Forwarded-For",
          "6.6.6.6",
          "X-Request-Id",
          "spoof",
          "Expect",
          "100-continue",
        ]),
      ),
    );
    assert.deepEqual(out.get("host"), ["10.1.1.1:8080"]);
    assert.deepEqual(out.get("x-forwarded-for"), ["10.0.0.9"]);
    assert.deepEqual(out.get("x-forwarded-proto"), ["http"]);
    assert.deepEqual(out.get("x-forwarded-host"), ["a.example"]);
    assert.deepEqual(out.get("forwarded"), ["for=10.0.0.9;host=a.example;proto=http"]);
    assert.deepEqual(out.get("x-request-id"), ["rid-1"]);
    assert.equal(out.has("expect"), false);
  });

  it("drops consumer headers a client sent, whether or not its peer is trusted", () => {
    for (const peerTrusted of [false, true]) {
      const out = asMap(
        upstreamRequestHeaders(
          facts(
            [
              "X-Consumer-Name",
              "admin",
              "x-consumer-groups",
              "admins",
              "X-Anonymous-Consumer",
              "false",
              "Accept-Encoding",
              "gzip",
            ],
            { peerTrusted },
          ),
        ),
      );
      assert.equal(out.has("x-consumer-name"), false);
      assert.equal(out.has("x-consumer-groups"), false);
      assert.equal(out.has("x-anonymous-consumer"), false);
      assert.deepEqual(out.get("accept-encoding"), ["gzip"]);
    }
  });

  it("extends the chain a trusted peer sent", () => {
    const out = asMap(
      upstreamRequestHeaders(
        facts(
          [
            "X-Forwarded-For",
            "1.1.1.1",
            "x-forwarded-for",
            "2.2.2.2, 3.3.3.3",
            "X-Forwarded-Proto",
            "https",
            "X-Forwarded-Host",
            "public.example",
            "Forwarded",
            "for=1.1.1.1",
          ],
          { peerTrusted: true },
        ),
      ),
    );
    assert.deepEqual(out.get("x-forwarded-for"), ["1.1.1.1, 2.2.2.2, 3.3.3.3, 10.0.0.9"]);
    assert.deepEqual(out.get("x-forwarded-proto"), ["https"]);
    assert.deepEqual(out.get("x-forwarded-host"), ["public.example"]);
    assert.deepEqual(out.get("forwarded"), ["for=1.1.1.1, for=10.0.0.9;host=a.example;proto=http"]);
  });

  it("quotes an IPv6 peer and a host with a port in Forwarded", () => {
    const out = asMap(
      upstreamRequestHeaders(facts([], { peerAddress: "::1", host: "a.example:8443" })),
    );
    assert.deepEqual(out.get("forwarded"), ['for="[::1]";host="a.example:8443";proto=http']);
    assert.deepEqual(out.get("x-forwarded-for"), ["::1"]);
  });

  it("forwards TE only as trailers, once", () => {
    const te = (...values: string[]) =>
      asMap(upstreamRequestHeaders(facts(values.flatMap((value) => ["TE", value])))).get("te");
    assert.deepEqual(te("trailers"), ["trailers"]);
    assert.deepEqual(te("gzip, Trailers;q=0.5"), ["trailers"]);
    assert.deepEqual(te("trailers", "trailers"), ["trailers"]);
    assert.equal(te("gzip"), undefined);
    assert.equal(te("trailersx"), undefined);
  });
});

describe("clientResponseHeaders", () => {
  const b = (...values: string[]) => values.map((value) => Buffer.from(value, "latin1"));

  it("drops hop-by-hop headers and those any Connection header lists", () => {
    const out = asMap(
      clientResponseHeaders(
        b(
          "Connection",
          "X-A",
          "X-A",
          "1",
          "connection",
          "x-b",
          "X-B",
          "2",
          "Keep-Alive",
          "timeout=5",
          "Transfer-Encoding",
          "chunked",
          "Proxy-Authenticate",
          "Basic",
          "Upgrade",
          "h2c",
          "X-Request-Id",
          "theirs",
          "Set-Cookie",
          "a=1",
          "Set-Cookie",
          "b=2",
        ),
        "rid-1",
        false,
      ),
    );
    assert.deepEqual([...out.keys()].sort(), ["set-cookie", "x-request-id"]);
    assert.deepEqual(out.get("set-cookie"), ["a=1", "b=2"]);
    assert.deepEqual(out.get("x-request-id"), ["rid-1"]);
  });

  it("asks the client to close when told to", () => {
    assert.deepEqual(asMap(clientResponseHeaders([], "r", true)).get("connection"), ["close"]);
    assert.equal(asMap(clientResponseHeaders([], "r", false)).has("connection"), false);
  });
});

describe("setHeader and findHeader on a flat header list", () => {
  it("replace every pair of a name case-insensitively, remove with undefined, and respect from", async () => {
    const { findHeader, setHeader } = await import("./headers.ts");
    const headers = ["host", "a", "X-Thing", "1", "x-thing", "2", "other", "o"];
    assert.equal(findHeader(headers, "x-thing"), 2);
    setHeader(headers, "x-thing", "3");
    assert.deepEqual(headers, ["host", "a", "other", "o", "x-thing", "3"]);
    setHeader(headers, "host", "b", 2);
    assert.deepEqual(
      headers,
      ["host", "a", "other", "o", "x-thing", "3", "host", "b"],
      "pairs before from are kept",
    );
    setHeader(headers, "other", undefined);
    assert.equal(findHeader(headers, "other"), -1);
  });
});
