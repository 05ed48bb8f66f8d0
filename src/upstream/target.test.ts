// A target's connections by protocol: an HTTP target never makes HTTP/2 sessions; a gRPC
// target makes them on first use, reuses them, and closes them with the target.
import assert from "node:assert/strict";
import { createServer, type Http2Session } from "node:http2";
import { describe, it } from "node:test";
import { SessionPoolClosedError } from "../proxy/grpc/session-pool.ts";
import { Target } from "./target.ts";

describe("Target protocol", () => {
  it("an http target has no HTTP/2 sessions", async () => {
    const target = new Target({ url: "http://127.0.0.1:9", weight: 1, connectTimeout: 100 });
    try {
      assert.equal(target.protocol, "http");
      assert.throws(() => target.sessions, /not a grpc target/);
    } finally {
      await target.destroy();
    }
  });

  it("a grpc target shares one HTTP/2 session and closes it when the target closes", async () => {
    const server = createServer();
    const sessions: Http2Session[] = [];
    server.on("session", (session) => sessions.push(session));
    server.on("stream", (stream) => {
      stream.resume();
      stream.respond({ ":status": 200 });
      stream.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const target = new Target({
      url: `http://127.0.0.1:${port}`,
      weight: 1,
      connectTimeout: 1000,
      protocol: "grpc",
    });
    try {
      assert.equal(target.sessions, target.sessions, "made once");
      for (let i = 0; i < 2; i++) {
        const stream = await target.sessions.request({ ":path": "/x.v1.X/Y", ":method": "POST" });
        stream.end();
        const status = await new Promise((resolve) =>
          stream.once("response", (headers) => resolve(headers[":status"])),
        );
        assert.equal(status, 200);
        stream.resume();
        await new Promise((resolve) => stream.once("close", resolve));
      }
      assert.equal(sessions.length, 1);
      const closed = new Promise((resolve) => sessions[0]!.once("close", resolve));
      await target.close();
      await closed;
      await assert.rejects(target.sessions.request({ ":path": "/" }), SessionPoolClosedError);
    } finally {
      await target.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
