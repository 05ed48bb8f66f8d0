// HTTP/2 limits with worker threads (gateway.workers: 2): every worker holds the connections
// it accepts to gateway.limits.http2 (SETTINGS_MAX_CONCURRENT_STREAMS announced and the
// stream over it refused, a rapid-reset flood closed with GOAWAY ENHANCE_YOUR_CALM), and
// the status listener's /metrics adds up the connections the workers closed.
import assert from "node:assert/strict";
import { connect } from "node:http2";
import { describe, it } from "node:test";
import { request } from "undici";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { h2Request } from "../helpers/h2-client.ts";
import {
  errorCode,
  frameType,
  getHeaders,
  ping,
  type RawH2Connection,
  rawH2,
  rstStream,
  setting,
  settingsOf,
} from "../helpers/h2-frames.ts";
import { until } from "../helpers/until.ts";
import { echo, startUpstream } from "../helpers/upstream.ts";

const maxConcurrentStreams = 2;
const ack = 0x1;

/** The streams of `raw` the server refused (RST_STREAM REFUSED_STREAM). */
const refused = (raw: RawH2Connection) =>
  raw.frames
    .filter(
      (f) =>
        f.type === frameType.rstStream && f.payload.readUInt32BE(0) === errorCode.refusedStream,
    )
    .map((f) => f.stream);

/**
 * Streams opened and cancelled in batches of 20 until the server closes the connection. A
 * PING ends each batch and its answer is awaited, so that the worker reads each batch on its
 * own, as a flood arrives over a network (read in one go, nghttp2's own limit stops it first).
 */
async function rapidReset(raw: RawH2Connection, firstStream: number): Promise<void> {
  let closed = false;
  void raw.closed.then(() => {
    closed = true;
  });
  const pingAnswers = () => raw.frames.filter((f) => f.type === frameType.ping && f.flags & ack);
  for (let batch = 0; batch < 20 && !closed; batch++) {
    const frames: Buffer[] = [];
    for (let i = 0; i < 20; i++) {
      const id = firstStream + 2 * (batch * 20 + i);
      frames.push(getHeaders(id, "/flood"), rstStream(id));
    }
    raw.send(...frames, ping());
    await until(() => closed || pingAnswers().length > batch, "the batch to be read");
  }
  await raw.closed;
}

describe("HTTP/2 limits with worker threads", () => {
  it("holds each worker's connections to gateway.limits.http2, and /metrics sums the closed ones", async () => {
    /** Held answers of /held, released by the test. */
    const held: (() => void)[] = [];
    const up = await startUpstream((req, res) => {
      if (req.url!.startsWith("/held")) held.push(() => res.end("held"));
      else echo(req, res);
    });
    const gw = await startGateway(
      testConfig({
        gateway: {
          workers: 2,
          listen: [{ host: "127.0.0.1", port: 0, http2: true }],
          limits: { http2: { maxConcurrentStreams, maxResetsPerSecond: 50 } },
        },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
    const accepted = async () => {
      const status = (await (await request(`${gw.statusUrl}/status`)).body.json()) as {
        workers: { worker: number; connectionsAccepted: number }[];
      };
      return new Map(status.workers.map((w) => [w.worker, w.connectionsAccepted]));
    };
    try {
      /** The workers whose connection was checked and flooded. */
      const checked = new Set<number>();
      // The kernel picks the worker of each connection: new ones until both have had one.
      for (let attempt = 0; attempt < 30 && checked.size < 2; attempt++) {
        const before = await accepted();
        const raw = await rawH2(gw.port);
        let worker = 0;
        await until(async () => {
          for (const [id, count] of await accepted())
            if (count > (before.get(id) ?? 0)) worker = id;
          return worker > 0;
        }, "a worker to accept the connection");
        if (checked.has(worker)) {
          raw.socket.destroy();
          continue;
        }

        await until(
          () => raw.frames.some((f) => f.type === frameType.settings && !(f.flags & ack)),
          "the server's SETTINGS",
        );
        const announced = settingsOf(
          raw.frames.find((f) => f.type === frameType.settings && !(f.flags & ack))!.payload,
        );
        assert.equal(
          announced.get(setting.maxConcurrentStreams),
          maxConcurrentStreams,
          `worker ${worker} announces maxConcurrentStreams`,
        );

        // One stream over the limit is refused; the others reach the upstream and are answered.
        raw.send(...[1, 3, 5].map((id) => getHeaders(id, `/held/${worker}/${id}`)));
        await until(() => refused(raw).length === 1, `worker ${worker} to refuse a stream`);
        assert.deepEqual(refused(raw), [5]);
        await until(() => held.length === maxConcurrentStreams, "the others upstream");
        for (const release of held.splice(0)) release();
        await until(
          () =>
            raw.frames.filter((f) => f.type === frameType.data && f.payload.toString() === "held")
              .length === maxConcurrentStreams,
          "their answers",
        );

        await rapidReset(raw, 7);
        assert.equal(raw.goaway()?.code, errorCode.enhanceYourCalm, `worker ${worker} closes`);
        checked.add(worker);
      }
      assert.deepEqual([...checked].sort(), [1, 2]);

      const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
      assert.match(metrics, /^gatehouse_http2_sessions_closed_total\{reason="resets"\} 2$/m);

      // Both workers go on serving HTTP/2.
      for (let i = 0; i < 4; i++) {
        const session = connect(gw.url);
        try {
          assert.equal((await h2Request(session, { ":path": "/after" })).status, 200);
        } finally {
          session.close();
        }
      }
    } finally {
      for (const release of held) release();
      await gw.stop();
      await up.close();
    }
  });
});
