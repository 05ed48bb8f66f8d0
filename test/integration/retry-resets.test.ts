// Connections that break before the response started: a GET is tried again on another
// target, a POST is not; a response that already reached the client is never retried.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { request } from "undici";
import { exited } from "../helpers/child-process.ts";
import { startSimpleGateway } from "../helpers/gateway.ts";
import { startUpstream } from "../helpers/upstream.ts";

/** Reads the request, then drops the connection without a byte of answer. */
function cutBeforeAnswer(req: IncomingMessage): void {
  req.resume();
  req.on("end", () => req.socket.destroy());
}

/** Answers half a status line and headers, then drops the connection. */
function cutInHeaders(req: IncomingMessage): void {
  req.resume();
  req.on("end", () => {
    req.socket.write("HTTP/1.1 200 OK\r\ncontent-le");
    req.socket.destroy();
  });
}

/** An upstream process that holds every request and says on stdout how many it holds. */
const holdingServer = `
const { createServer } = require("node:http");
let held = 0;
createServer((req) => { req.resume(); process.stdout.write("held " + ++held + "\\n"); })
  .listen(0, "127.0.0.1", function () { process.stdout.write("listening " + this.address().port + "\\n"); });
`;

async function answer(url: string, method = "GET"): Promise<string> {
  const res = await request(url, { method, body: method === "POST" ? "{}" : undefined });
  return `${res.statusCode} ${await res.body.text()}`;
}

describe("retries after a broken connection", () => {
  for (const [name, cut] of [
    ["before any byte of answer", cutBeforeAnswer],
    ["in the middle of the response headers", cutInHeaders],
  ] as const) {
    it(`retries a GET cut ${name} on another target, not a POST`, async () => {
      const cutter = await startUpstream(cut);
      const good = await startUpstream((req, res) => {
        req.resume();
        res.end("good");
      });
      const gw = await startSimpleGateway(
        [cutter.url, good.url],
        {},
        {},
        {
          healthCheck: { passive: { consecutiveFailures: 0, consecutiveLocalOriginFailures: 0 } },
        },
      );
      try {
        for (let i = 0; i < 4; i++) assert.equal(await answer(`${gw.url}/x`), "200 good");
        const cutGets = cutter.requests.length;
        assert.ok(cutGets >= 2, `the cutter got GETs (${cutGets}), and each was retried`);
        const posts = [];
        for (let i = 0; i < 4; i++) posts.push(await answer(`${gw.url}/x`, "POST"));
        const failed = posts.filter((p) => p !== "200 good");
        const cutPosts = cutter.requests.length - cutGets;
        assert.ok(cutPosts >= 1, "the cutter got POSTs");
        assert.equal(
          failed.length,
          cutPosts,
          `the POSTs the cutter got were not retried: ${posts}`,
        );
        for (const p of failed) assert.match(p, /^502 .*GATEHOUSE_UPSTREAM_BAD_RESPONSE/);
      } finally {
        await gw.stop();
        await cutter.close();
        await good.close();
      }
    });
  }

  it("retries GETs in flight on a target that is SIGKILLed", async () => {
    const child = spawn(process.execPath, ["-e", holdingServer], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout!.setEncoding("utf8");
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.on("data", (chunk: string) => {
        out += chunk;
        const match = /listening (\d+)/.exec(out);
        if (match) resolve(Number(match[1]));
      });
      child.once("exit", () => reject(new Error("the holding upstream exited")));
    });
    const good = await startUpstream((_req, res) => res.end("good"));
    const gw = await startSimpleGateway([`http://127.0.0.1:${port}`, good.url]);
    try {
      const held = new Promise<void>((resolve) => {
        child.stdout!.on("data", () => {
          if (out.includes("held 3\n")) resolve();
        });
      });
      const answers = Array.from({ length: 6 }, (_, i) => answer(`${gw.url}/item/${i}`));
      await held;
      child.kill("SIGKILL");
      assert.deepEqual(await Promise.all(answers), Array(6).fill("200 good"));
    } finally {
      child.kill("SIGKILL");
      await exited(child);
      await gw.stop();
      await good.close();
    }
  });

  it("never retries once the response started: the client sees it cut", async () => {
    let tries = 0;
    const cutter = await startUpstream((req, res) => {
      tries++;
      req.resume();
      res.writeHead(200, { "content-length": "100" });
      res.write("partial", () => res.destroy());
    });
    const gw = await startSimpleGateway([cutter.url]);
    try {
      const res = await request(`${gw.url}/x`);
      assert.equal(res.statusCode, 200);
      await assert.rejects(res.body.text(), "the body ends early, as an error");
      assert.equal(tries, 1, "no second try");
    } finally {
      await gw.stop();
      await cutter.close();
    }
  });
});
