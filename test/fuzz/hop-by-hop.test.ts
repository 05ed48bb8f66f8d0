// Property test of hop-by-hop removal through a real gateway: requests written on a raw
// socket with Connection-listed headers, Keep-Alive, TE, Transfer-Encoding, Upgrade,
// Proxy-* and HTTP2-Settings, in any case, with odd whitespace and repeated; the upstream,
// on a raw socket too, records the head exactly as the gateway wrote it. Nothing
// hop-by-hop or Connection-listed arrives (but `TE: trailers` and the connection's own
// framing), every other header arrives, and the gateway's own headers cannot be removed.
// The same the other way: what the upstream answers with reaches the client without them.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { checkProperty } from "../helpers/fuzz.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { RawConnection } from "../helpers/raw-connection.ts";
import { type RawUpstream, respondWith, startRawUpstream } from "../helpers/raw-upstream.ts";

const hopByHop = [
  "keep-alive",
  "te",
  "transfer-encoding",
  "upgrade",
  "proxy-authorization",
  "proxy-authenticate",
  "proxy-connection",
  "http2-settings",
];
const custom = ["x-a", "x-b", "x-forwarded-for", "x-request-id", "x-api-key"];

/** A name in random case. */
const casedName = (name: string) =>
  fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(""));
const space = fc.constantFrom("", " ", "  ", "\t", " \t");

/** A Connection header's value: tokens naming headers (or close/keep-alive), odd commas and spaces. */
const connectionValue = fc
  .array(
    fc.tuple(
      space,
      fc.constantFrom(...custom, ...hopByHop, "close", "keep-alive").chain(casedName),
      space,
      fc.constantFrom(",", ", ", ",,"),
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((tokens) =>
    tokens
      .map(([l, name, r, comma]) => `${l}${name}${r}${comma}`)
      .join("")
      .slice(0, -1),
  );

const header = fc.oneof(
  fc.tuple(casedName("connection"), connectionValue),
  fc.tuple(
    fc.constantFrom(...hopByHop).chain(casedName),
    fc.constantFrom(
      "trailers",
      "deflate",
      "chunked",
      "h2c",
      "x",
      "timeout=5",
      "Basic Zm9v",
      "trailers;q=1, gzip",
    ),
  ),
  fc.tuple(fc.constantFrom(...custom).chain(casedName), fc.constantFrom("1", "v", "a b")),
);
const request = fc.record({
  headers: fc.array(fc.tuple(header, space, space), { maxLength: 8 }),
});

let upstream: RawUpstream;
let gw: RunningGateway;

before(async () => {
  upstream = await startRawUpstream();
  gw = await startGateway(
    testConfig({
      services: [{ name: "svc", targets: [{ url: upstream.url }] }],
      routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
    }),
  );
});
after(async () => {
  await gw?.stop();
  await upstream?.close();
});

describe("header handling property (real gateway, raw sockets)", () => {
  it("no hop-by-hop or Connection-listed header reaches the upstream; the rest do", async () => {
    await checkProperty(
      fc.asyncProperty(request, async ({ headers }) => {
        const lines = headers.map(([[name, value], l, r]) => `${name}:${l}${value}${r}`);
        const text = `GET /h HTTP/1.1\r\nHost: gw.test\r\n${lines.map((l) => `${l}\r\n`).join("")}\r\n`;
        // A request that says it has a chunked body sends the empty one.
        const chunked = headers.some(([[name]]) => name.toLowerCase() === "transfer-encoding");
        const before = upstream.heads.length;
        const connection = await RawConnection.open(gw.port);
        let status: number;
        try {
          await connection.write(chunked ? `${text}0\r\n\r\n` : text);
          status = (await connection.readResponse(10_000)).status;
        } finally {
          connection.destroy();
        }
        const received = upstream.heads.slice(before);
        if (status !== 200) {
          // Refused (a framing rule, an Upgrade it will not tunnel): then nothing went upstream.
          assert.deepEqual(received, [], `answered ${status} yet forwarded`);
          return;
        }
        assert.equal(received.length, 1);
        const sent = received[0]!.slice(1).map((line) => {
          const colon = line.indexOf(":");
          return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()] as const;
        });
        const listed = new Set<string>();
        for (const [[name, value]] of headers)
          if (name.toLowerCase() === "connection")
            for (const token of value.split(",")) listed.add(token.trim().toLowerCase());
        const gatewayOwn = new Set([
          "host",
          "x-forwarded-for",
          "x-request-id",
          "x-forwarded-proto",
          "x-forwarded-host",
          "forwarded",
        ]);
        // `TE: trailers` is the gateway's own, for this hop: sent when the client offered trailers.
        const offered = headers.some(
          ([[name, value]]) => name.toLowerCase() === "te" && /(^|,)\s*trailers/i.test(value),
        );
        for (const [name, value] of sent) {
          if (name === "te") {
            assert.equal(value, "trailers", "a TE other than trailers forwarded");
            assert.ok(offered, "TE: trailers sent though the client offered no trailers");
            continue;
          }
          if (name === "connection")
            assert.match(value, /^(keep-alive|close)$/i, "a client Connection forwarded");
          else assert.ok(!hopByHop.includes(name), `hop-by-hop ${name} forwarded`);
          if (!gatewayOwn.has(name))
            assert.ok(!listed.has(name), `Connection-listed ${name} forwarded`);
        }
        const names = new Set(sent.map(([name]) => name));
        for (const own of ["host", "x-forwarded-for", "x-request-id"])
          assert.ok(names.has(own), `own ${own} missing`);
        for (const [[name, value]] of headers) {
          const lower = name.toLowerCase();
          if (["x-a", "x-b", "x-api-key"].includes(lower) && !listed.has(lower))
            assert.ok(
              sent.some(([n, v]) => n === lower && v === value),
              `${name}: ${value} lost`,
            );
        }
      }),
      120,
    );
  });

  it("no hop-by-hop or Connection-listed header of the upstream's reaches the client", async () => {
    // Every value carries a marker, so a header that got through is found whatever its name.
    const responseHeader = fc.oneof(
      fc.tuple(casedName("connection"), connectionValue),
      fc.tuple(
        fc
          .constantFrom(...hopByHop.filter((name) => name !== "transfer-encoding"))
          .chain(casedName),
        fc.constant("v"),
      ),
      fc.tuple(fc.constantFrom("x-a", "x-b", "x-request-id").chain(casedName), fc.constant("v")),
    );
    await checkProperty(
      fc.asyncProperty(
        fc.array(fc.tuple(responseHeader, space), { maxLength: 8 }),
        async (sent) => {
          const lines = sent.map(([[name, value], pad], i) =>
            name.toLowerCase() === "connection"
              ? `${name}:${pad}${value}`
              : `${name}:${pad}${value}-m${i}`,
          );
          const connection = await RawConnection.open(gw.port);
          let response: Awaited<ReturnType<RawConnection["readResponse"]>>;
          try {
            await connection.write(
              `GET /r HTTP/1.1\r\nHost: gw.test\r\n${respondWith(lines)}\r\n\r\n`,
            );
            response = await connection.readResponse(10_000);
          } finally {
            connection.destroy();
          }
          assert.equal(response.status, 200, response.body);
          const listed = new Set<string>();
          for (const [[name, value]] of sent)
            if (name.toLowerCase() === "connection")
              for (const token of value.split(",")) listed.add(token.trim().toLowerCase());
          const received = Object.entries(response.headers)
            .map(([name, value]) => `${name}: ${value}`)
            .join("\n");
          sent.forEach(([[name]], i) => {
            const lower = name.toLowerCase();
            if (lower === "connection") return;
            const dropped =
              hopByHop.includes(lower) || lower === "x-request-id" || listed.has(lower);
            const arrived = new RegExp(`-m${i}\\b`).test(received);
            assert.equal(
              arrived,
              !dropped,
              `${name} ${dropped ? "reached" : "did not reach"} the client:\n${received}`,
            );
          });
          const own = response.headers.connection;
          if (own !== undefined)
            assert.match(own, /^(keep-alive|close)$/i, "the upstream's Connection forwarded");
          assert.match(
            response.headers["x-request-id"] ?? "",
            /^[^,]+$/,
            "one request id, the gateway's",
          );
        },
      ),
      120,
    );
  });
});
