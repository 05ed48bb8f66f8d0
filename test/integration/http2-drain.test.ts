// A graceful stop over HTTP/2: every connection gets GOAWAY at once, a stream in flight
// finishes with its whole answer, a new stream is refused, and the stop completes.
import assert from "node:assert/strict";
import { connect } from "node:http2";
import { describe, it } from "node:test";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { h2Request } from "../helpers/h2-client.ts";
import { until } from "../helpers/until.ts";
import { startUpstream } from "../helpers/upstream.ts";

describe("HTTP/2 drain", () => {
  it("sends GOAWAY, lets the open stream finish and refuses new ones", async () => {
    let release: () => void = () => {};
    let arrived = false;
    const up = await startUpstream((_req, res) => {
      arrived = true;
      res.write("first;");
      release = () => res.end("last");
    });
    const gw = await startGateway(
      testConfig({
        gateway: { listen: [{ host: "127.0.0.1", port: 0, http2: true }], shutdownTimeout: "5s" },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
    const session = connect(gw.url);
    try {
      const goaway = new Promise<number>((resolve) => session.once("goaway", resolve));
      const inFlight = h2Request(session, { ":path": "/slow" });
      await until(() => arrived, "the request upstream");
      const stopped = gw.stop();
      assert.equal(await goaway, 0, "GOAWAY with NO_ERROR");
      await assert.rejects(h2Request(session, { ":path": "/late" }));
      release();
      const answer = await inFlight;
      assert.equal(answer.status, 200);
      assert.equal(answer.body, "first;last");
      await stopped;
    } finally {
      session.destroy();
      await up.close();
    }
  });
});
