// The process log (gateway.log) written to a real file: JSON lines, levels honoured, plugin
// lines bound to their plugin and scope, and no credential in any line.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { request } from "undici";
import { z } from "zod";
import { createLogger } from "../../src/observability/logger.ts";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import { registerPlugin } from "../../src/plugins/index.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { tempLogFile } from "../helpers/log-file.ts";
import { startUpstream } from "../helpers/upstream.ts";

registerPlugin(
  definePlugin({
    name: "test-log-failure",
    schema: z.strictObject({}),
    priority: 500,
    create: (_config, scope) => {
      scope.log.info("created");
      return {
        access(ctx) {
          if (ctx.req.headers["x-break"]) throw new Error("plugin bug");
        },
      };
    },
  }) as never,
);

const levels = ["trace", "debug", "info", "warn", "error", "fatal"] as const;

describe("process log", () => {
  it("writes JSON lines at the configured level and above to a file", async () => {
    for (const level of [...levels, "silent"] as const) {
      const file = await tempLogFile();
      try {
        const log = createLogger({ level, destination: file.path });
        for (const at of levels) log[at]({ n: levels.indexOf(at) }, `${at} line`);
        const lines = await file.lines();
        const from = level === "silent" ? levels.length : levels.indexOf(level);
        assert.deepEqual(
          lines.map((line) => line.level),
          levels.slice(from),
          `level ${level}`,
        );
        for (const line of lines) {
          assert.equal(line.msg, `${line.level} line`);
          assert.equal(line.n, levels.indexOf(line.level as (typeof levels)[number]));
          assert.equal(line.pid, process.pid);
          assert.ok(!Number.isNaN(Date.parse(String(line.time))), "an ISO time");
        }
      } finally {
        await file.remove();
      }
    }
  });

  it("censors credentials wherever a field carries one", async () => {
    const file = await tempLogFile();
    try {
      const log = createLogger({ level: "info", destination: file.path });
      log.warn(
        {
          authorization: "Bearer t0ken",
          req: {
            headers: { authorization: "Basic c2VjcmV0", cookie: "sid=s3ss", "x-api-key": "k3y" },
          },
          password: "hunter2",
        },
        "careless",
      );
      const [line] = await file.lines();
      const text = JSON.stringify(line);
      for (const secret of ["t0ken", "c2VjcmV0", "s3ss", "k3y", "hunter2"]) {
        assert.doesNotMatch(text, new RegExp(secret));
      }
      assert.equal(line!.authorization, "[redacted]");
    } finally {
      await file.remove();
    }
  });

  it("gives plugins a logger bound to {plugin, scope}, filtered by gateway.log.level", async () => {
    const up = await startUpstream();
    for (const level of ["info", "error"] as const) {
      const file = await tempLogFile();
      const gw = await startGateway(
        testConfig({
          gateway: { log: { level, destination: file.path } },
          consumers: [{ name: "bob", credentials: { keys: ["bob-plain-key"] } }],
          services: [{ name: "svc", targets: [{ url: up.url }] }],
          routes: [
            {
              name: "api",
              match: { paths: ["/*"] },
              service: "svc",
              plugins: [{ name: "key-auth" }, { name: "test-log-failure" }],
            },
          ],
        }),
      );
      try {
        const secrets = {
          "x-api-key": "bob-plain-key",
          authorization: "Bearer xyz",
          cookie: "a=b",
        };
        const res = await request(`${gw.url}/x`, { headers: { ...secrets, "x-break": "1" } });
        assert.equal(res.statusCode, 500);
        await res.body.dump();
        const lines = (await file.lines()).map(({ level, msg, plugin, scope }) => ({
          level,
          msg,
          plugin,
          scope,
        }));
        const all = [
          { level: "info", msg: "created", plugin: "test-log-failure", scope: "route:api" },
          {
            level: "warn",
            msg: 'key-auth: API keys written in plain text; store "sha256:" digests instead',
            plugin: "key-auth",
            scope: "route:api",
          },
          { level: "error", msg: "internal error", plugin: undefined, scope: undefined },
        ];
        const expected = level === "info" ? all : all.filter((line) => line.level === "error");
        // Plugins are created in priority order (key-auth first): compare as sets.
        const key = (line: object) => JSON.stringify(line);
        assert.deepEqual(lines.map(key).sort(), expected.map(key).sort(), `level ${level}`);
        const text = JSON.stringify(await file.lines());
        for (const secret of Object.values(secrets)) assert.ok(!text.includes(secret), secret);
      } finally {
        await gw.stop();
        await file.remove();
      }
    }
    await up.close();
  });
});
