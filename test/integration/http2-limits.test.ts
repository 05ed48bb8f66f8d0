// HTTP/2 hardening over real sockets, with frames written by hand where no well-behaved
// client would send them: a rapid-reset flood, PING and SETTINGS floods, streams over
// maxConcurrentStreams, header lists over the limits, an idle connection, and an h2load
// stream flood. Each is refused or closed as documented, counted, and the gateway keeps
// serving.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { connect } from "node:http2";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { h2Request } from "../helpers/h2-client.ts";
import {
  errorCode,
  frameType,
  getHeaders,
  ping,
  rawH2,
  rstStream,
  settings,
} from "../helpers/h2-frames.ts";
import { until } from "../helpers/until.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

describe("HTTP/2 limits", () => {
  let up: Upstream;
  let gw: RunningGateway;
  /** Requests the upstream received, by path prefix. */
  const received = { flood: 0 };
  /** Held answers of /slow, released by the tests. */
  const held: (() => void)[] = [];

  before(async () => {
    up = await startUpstream((req, res) => {
      if (req.url!.startsWith("/flood")) received.flood++;
      if (req.url!.startsWith("/slow")) {
        held.push(() => res.end("slow"));
        return;
      }
      echo(req, res);
    });
    gw = await startGateway(
      testConfig({
        gateway: {
          listen: [{ host: "127.0.0.1", port: 0, http2: true }],
          limits: {
            maxHeaderSize: 2048,
            maxHeaderCount: 20,
            keepAliveTimeout: "400ms",
            http2: {
              maxConcurrentStreams: 5,
              maxResetsPerSecond: 50,
              maxPingsPerSecond: 20,
              maxSettingsPerSecond: 20,
            },
          },
        },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
  });

  after(async () => {
    for (const release of held) release();
    await gw.stop();
    await up.close();
  });

  const closedFor = async (reason: string) => {
    const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
    const sample = new RegExp(
      `gatehouse_http2_sessions_closed_total\\{reason="${reason}"\\} (\\d+)`,
    );
    return Number(sample.exec(metrics)?.[1]);
  };

  /** A fresh HTTP/2 request still works (the gateway survived what came before). */
  const stillServes = async () => {
    const session = connect(gw.url);
    try {
      assert.equal((await h2Request(session, { ":path": "/after" })).status, 200);
    } finally {
      session.close();
    }
  };

  it("closes a rapid-reset flood with GOAWAY ENHANCE_YOUR_CALM before it reaches the upstream", async () => {
    const before = await closedFor("resets");
    const raw = await rawH2(gw.port);
    // Batches of 20 opened-then-cancelled streams, one per event-loop turn, as a flood
    // arrives over a network: over 50 a second, the connection is closed.
    for (let batch = 0; batch < 100 && !raw.socket.destroyed; batch++) {
      const frames: Buffer[] = [];
      for (let i = 0; i < 20; i++) {
        const id = 1 + 2 * (batch * 20 + i);
        frames.push(getHeaders(id, "/flood"), rstStream(id));
      }
      raw.send(...frames);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await raw.closed;
    assert.equal(raw.goaway()?.code, errorCode.enhanceYourCalm);
    assert.equal(await closedFor("resets"), before + 1);
    assert.ok(received.flood < 200, `${received.flood} upstream requests from the flood`);
    await stillServes();
  });

  it("closes a burst of resets read at once, before it reaches the upstream", async () => {
    const before = await closedFor("resets");
    const flooded = received.flood;
    const raw = await rawH2(gw.port);
    const flood: Buffer[] = [];
    for (let i = 0; i < 3000; i++)
      flood.push(getHeaders(1 + 2 * i, "/flood"), rstStream(1 + 2 * i));
    raw.send(...flood);
    await raw.closed;
    assert.ok(raw.goaway(), "the connection is closed with a GOAWAY");
    await until(async () => (await closedFor("resets")) === before + 1, "the count");
    assert.ok(received.flood - flooded < 200, `${received.flood - flooded} upstream requests`);
    await stillServes();
  });

  it("closes PING and SETTINGS floods past their per-second limits", async () => {
    const pings = await rawH2(gw.port);
    pings.send(...Array.from({ length: 200 }, ping));
    await pings.closed;
    assert.equal(pings.goaway()?.code, errorCode.enhanceYourCalm);
    assert.equal(await closedFor("pings"), 1);

    const settingsFlood = await rawH2(gw.port);
    settingsFlood.send(...Array.from({ length: 200 }, settings));
    await settingsFlood.closed;
    assert.equal(settingsFlood.goaway()?.code, errorCode.enhanceYourCalm);
    assert.equal(await closedFor("settings"), 1);
    await stillServes();
  });

  it("refuses streams over maxConcurrentStreams and serves the rest", async () => {
    const raw = await rawH2(gw.port);
    const streams = Array.from({ length: 8 }, (_, i) => 1 + 2 * i);
    raw.send(...streams.map((id) => getHeaders(id, `/slow/${id}`)));
    await until(
      () =>
        raw.frames.filter(
          (f) =>
            f.type === frameType.rstStream && f.payload.readUInt32BE(0) === errorCode.refusedStream,
        ).length === 3,
      "three streams refused",
    );
    await until(() => held.length === 5, "five requests upstream");
    for (const release of held.splice(0)) release();
    await until(
      () =>
        raw.frames.filter((f) => f.type === frameType.data && f.payload.toString() === "slow")
          .length === 5,
      "five answers",
    );
    raw.socket.destroy();
  });

  it("answers 431 in JSON to header lists over maxHeaderSize or maxHeaderCount", async () => {
    const session = connect(gw.url);
    try {
      const large = await h2Request(session, { ":path": "/h", "x-big": "a".repeat(2100) });
      assert.equal(large.status, 431);
      assert.equal(JSON.parse(large.body).error.code, "GATEHOUSE_HEADERS_TOO_LARGE");
      const many: Record<string, string> = { ":path": "/h" };
      // With the Host (the :authority), 20 fields are allowed and 21 are not, as in HTTP/1.1.
      for (let i = 0; i < 20; i++) many[`x-h${i}`] = "v";
      const counted = await h2Request(session, many);
      assert.equal(counted.status, 431);
      delete many["x-h19"];
      assert.equal((await h2Request(session, many)).status, 200);
      // Far over the limit, the stream is reset before it becomes a request; the
      // connection goes on.
      const huge = h2Request(session, { ":path": "/h", "x-huge": "a".repeat(5000) });
      await assert.rejects(huge, /ENHANCE_YOUR_CALM|NGHTTP2_ENHANCE_YOUR_CALM/);
      assert.equal((await h2Request(session, { ":path": "/h" })).status, 200);
    } finally {
      session.close();
    }
  });

  it("closes an idle connection after keepAliveTimeout with GOAWAY", async () => {
    const session = connect(gw.url);
    const goaway = new Promise<number>((resolve) => session.once("goaway", resolve));
    assert.equal((await h2Request(session, { ":path": "/idle" })).status, 200);
    assert.equal(await goaway, 0);
    await new Promise((resolve) => session.once("close", resolve));
  });

  it("survives an h2load stream flood (Debian package nghttp2-client)", async () => {
    const output = await new Promise<string>((resolve, reject) =>
      execFile(
        "h2load",
        ["-n", "3000", "-c", "4", "-m", "50", "-t", "1", `${gw.url}/load`],
        { timeout: 60_000 },
        (error, stdout) => {
          if ((error as NodeJS.ErrnoException | null)?.code === "ENOENT")
            reject(
              new Error("h2load not found: install it with `apt-get install -y nghttp2-client`"),
            );
          else if (error) reject(error);
          else resolve(stdout);
        },
      ),
    );
    const done = /requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded/.exec(output);
    assert.ok(done, output);
    assert.equal(Number(done[1]), 3000, output);
    await stillServes();
  });
});
