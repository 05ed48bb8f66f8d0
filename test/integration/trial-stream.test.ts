// A target back from an ejection is on trial until one try is answered. An answered trial
// whose body keeps streaming (a download, an event stream) must not keep the target out of
// rotation after a later ejection of it ends: real sockets, a real gateway.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Agent, request } from "undici";
import type { TargetView } from "../../src/upstream/upstream-view.ts";
import { type RunningGateway, startSimpleGateway } from "../helpers/gateway.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const agent = new Agent({ keepAliveTimeout: 10_000 });
after(() => agent.close());

async function targetView(gw: RunningGateway, url: string): Promise<TargetView> {
  const res = await request(`${gw.statusUrl}/upstreams`, { dispatcher: agent });
  const body = (await res.body.json()) as { services: { targets: TargetView[] }[] };
  return body.services[0]!.targets.find((target) => target.url === url)!;
}

describe("a target on trial whose answered try streams on", () => {
  it("takes traffic again once its next ejection is over", async () => {
    // What b does with the next request it gets.
    let mode: "hang" | "stream" | "reset" | "answer" = "hang";
    const streams: { end(): void }[] = [];
    const a = await startUpstream((_req, res) => res.end("a"));
    const b: Upstream = await startUpstream((req, res) => {
      if (mode === "stream") {
        mode = "reset";
        res.writeHead(200).write("b-stream ");
        streams.push(res);
      } else if (mode === "reset") req.socket.destroy();
      else if (mode === "answer") res.end("b");
      // hang: accepted, never answered
    });
    const gw = await startSimpleGateway(
      [a.url, b.url],
      {},
      { timeouts: { response: "300ms" } },
      { healthCheck: { passive: { baseEjection: "200ms" } } },
    );
    const bodies: string[] = [];
    let streamed: Promise<unknown> | undefined;
    const get = async (n: number) => {
      const res = await request(`${gw.url}/r/${n}`, { dispatcher: agent });
      const chunks = res.body[Symbol.asyncIterator]();
      let text = String((await chunks.next()).value ?? "");
      if (text.startsWith("b-stream")) {
        // The trial's answer: its body keeps coming; read it on the side until it ends.
        streamed = (async () => {
          while (!(await chunks.next()).done);
        })().catch(() => {});
        return;
      }
      for (let next = await chunks.next(); !next.done; next = await chunks.next())
        text += String(next.value);
      bodies.push(text);
    };
    try {
      let n = 0;
      // 1. b hangs: its first try times out (retried on a) and ejects it.
      await get(n++);
      await get(n++);
      await until(async () => (await targetView(gw, b.url)).ejected, "the first ejection", 5_000);
      // 2. Back on trial, b answers and streams on; its next try is reset: ejected again.
      mode = "stream";
      await until(
        async () => {
          await get(n++);
          return (await targetView(gw, b.url)).ejections === 2;
        },
        "the trial's answer, then the second ejection",
        5_000,
      );
      // 3. b answers now. Its 400ms ejection ends; with the stream still open, it must be
      //    tried again and take traffic.
      mode = "answer";
      await until(
        async () => {
          await get(n++);
          return bodies.includes("b");
        },
        "b to take traffic again while the earlier trial's stream is open",
        5_000,
      );
      assert.equal(streams.length, 1, "the stream is still open");
    } finally {
      for (const stream of streams) stream.end();
      await streamed;
      await gw.stop();
      await a.close();
      await b.close();
    }
  });
});
