// gateway.limits.maxClientConnections: a node holds at most that many client connections
// over all its proxy listeners and worker threads; one more gets 503 and is closed at once,
// counted and logged once per burst, while the status and admin listeners keep answering;
// idle ones are closed after keepAliveTimeout and their places freed.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { request } from "undici";
import { startGatehouseNode } from "../helpers/gatehouse-node.ts";
import { startGateway, testConfig } from "../helpers/gateway.ts";
import { tempLogFile } from "../helpers/log-file.ts";
import { RawConnection } from "../helpers/raw-connection.ts";
import { until } from "../helpers/until.ts";
import { startUpstream } from "../helpers/upstream.ts";

/** Opens `count` keep-alive connections and serves one request on each (so each is admitted). */
async function openServed(port: number, count: number): Promise<RawConnection[]> {
  const connections = await Promise.all(
    Array.from({ length: count }, () => RawConnection.open(port)),
  );
  const answers = await Promise.all(
    connections.map(async (connection, i) => {
      await connection.write(`GET /first-${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
      return (await connection.readResponse()).status;
    }),
  );
  assert.deepEqual(answers, Array(count).fill(200), "every connection under the cap is served");
  return connections;
}

/** Opens a connection over the cap: it must get the 503 at once, unasked, and be closed. */
async function assertRefused(port: number): Promise<void> {
  const connection = await RawConnection.open(port);
  try {
    const response = await connection.readResponse(2000);
    assert.equal(response.status, 503);
    assert.equal(response.headers.connection, "close");
    const body = JSON.parse(response.body) as { error: { code: string; requestId: string } };
    assert.equal(body.error.code, "GATEHOUSE_CONNECTION_LIMITED");
    assert.equal(body.error.requestId, response.headers["x-request-id"]);
    assert.equal(await connection.waitClosed(2000), true, "a refused connection is closed");
  } finally {
    connection.destroy();
  }
}

const metric = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? Number.NaN);

describe("maxClientConnections", () => {
  it("refuses connections over the cap with 503, while status and admin answer", async () => {
    const up = await startUpstream((_req, res) => res.end("ok"));
    const log = await tempLogFile();
    const gw = await startGateway(
      testConfig({
        gateway: {
          limits: { maxClientConnections: 5 },
          admin: { host: "127.0.0.1", port: 0 },
          log: { level: "info", destination: log.path },
        },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
    const held = await openServed(gw.port, 5);
    try {
      for (let i = 0; i < 3; i++) await assertRefused(gw.port);

      const health = await request(`${gw.statusUrl}/health`);
      assert.equal(health.statusCode, 200, "the status listener answers while the proxy is full");
      await health.body.dump();
      const admin = `http://127.0.0.1:${gw.gateway.addresses().admin!.port}`;
      const config = await request(`${admin}/config`);
      assert.equal(config.statusCode, 200, "the admin API answers while the proxy is full");
      await config.body.dump();

      // The admitted connections keep working.
      for (const [i, connection] of held.entries()) {
        await connection.write(`GET /again-${i} HTTP/1.1\r\nHost: a\r\n\r\n`);
        assert.equal((await connection.readResponse()).status, 200);
      }
      const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
      assert.equal(
        metric(metrics, /^gatehouse_connections_refused_total\{reason="limit"\} (\d+)$/m),
        3,
      );
      assert.equal(metric(metrics, /^gatehouse_connections_open (\d+)$/m), 5);

      // One closes: its place is free again.
      held.pop()!.destroy();
      await until(async () => {
        const connection = await RawConnection.open(gw.port);
        try {
          await connection.write("GET /freed HTTP/1.1\r\nHost: a\r\n\r\n");
          return (await connection.readResponse()).status === 200;
        } catch {
          return false;
        } finally {
          connection.destroy();
        }
      }, "a place freed by a closed connection");

      const warnings = (await log.lines()).filter(
        (line) => line.level === "warn" && String(line.msg).includes("maxClientConnections"),
      );
      assert.equal(warnings.length, 1, "one warning for the burst, not one per refusal");
    } finally {
      for (const connection of held) connection.destroy();
      await gw.stop();
      await up.close();
      await log.remove();
    }
  });

  it("closes idle keep-alive connections after keepAliveTimeout, freeing their places", async () => {
    const up = await startUpstream((_req, res) => res.end("ok"));
    const gw = await startGateway(
      testConfig({
        gateway: { limits: { maxClientConnections: 4, keepAliveTimeout: "300ms" } },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
    const held = await openServed(gw.port, 4);
    try {
      await assertRefused(gw.port);
      // Each idle connection is closed by the gateway, cleanly: no bytes after its answer.
      const closed = await Promise.all(held.map((connection) => connection.waitClosed(3000)));
      assert.deepEqual(closed, Array(4).fill(true), "every idle connection is closed");
      assert.deepEqual(
        held.map((connection) => connection.pending),
        Array(4).fill(""),
        "nothing is written on an idle connection before it is closed",
      );
      await until(async () => {
        const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
        return metric(metrics, /^gatehouse_connections_open (\d+)$/m) === 0;
      }, "the open connection count back to 0");
      // The places are free again: a full set of new connections is served.
      held.push(...(await openServed(gw.port, 4)));
      await assertRefused(gw.port);
    } finally {
      for (const connection of held) connection.destroy();
      await gw.stop();
      await up.close();
    }
  });

  it("by default keeps the node under its open-file limit: /health answers past it", async () => {
    const up = await startUpstream((_req, res) => res.end("ok"));
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-fds-"));
    const file = join(dir, "gatehouse.yaml");
    await writeFile(
      file,
      [
        "gateway:",
        "  listen: [{ host: 127.0.0.1, port: 0 }]",
        "  status: { host: 127.0.0.1, port: 0 }",
        "  admin: { host: 127.0.0.1, port: 0 }",
        "  reload: { watch: false }",
        "services:",
        `  - { name: svc, targets: [{ url: "${up.url}" }] }`,
        "routes:",
        "  - { name: all, match: { paths: [/*] }, service: svc }",
        "",
      ].join("\n"),
    );
    // 256 descriptors: a quarter kept for the process, the rest halved: 96 client connections.
    const node = await startGatehouseNode(file, { openFiles: 256 });
    const held: RawConnection[] = [];
    try {
      const port = Number(new URL(node.url).port);
      const statuses: number[] = [];
      // More connections than the process has descriptors, each with a request in flight.
      for (let batch = 0; batch < 6; batch++) {
        const answers = await Promise.all(
          Array.from({ length: 50 }, async (_, i) => {
            const connection = await RawConnection.open(port);
            held.push(connection);
            await connection
              .write(`GET /c-${batch}-${i} HTTP/1.1\r\nHost: a\r\n\r\n`)
              .catch(() => {});
            return (await connection.readResponse(5000).catch(() => ({ status: 0 }))).status;
          }),
        );
        statuses.push(...answers);
      }
      assert.deepEqual(
        {
          served: statuses.filter((s) => s === 200).length,
          refused: statuses.filter((s) => s === 503).length,
        },
        { served: 96, refused: 204 },
      );
      assert.equal(await node.get("/still-full"), 503);
      const health = await request(`${node.statusUrl}/health`);
      assert.equal(health.statusCode, 200);
      await health.body.dump();
      assert.equal((await node.admin("GET", "/config")).status, 200);
      assert.equal(
        await node.metric(/^gatehouse_connections_refused_total\{reason="limit"\} (\d+)$/m),
        205,
      );
      assert.match(node.output(), /"maxClientConnections":96,"openFiles":256/);
    } finally {
      for (const connection of held) connection.destroy();
      await node.stop();
      await up.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("holds the cap once per node across worker threads", async () => {
    const up = await startUpstream((_req, res) => res.end("ok"));
    const gw = await startGateway(
      testConfig({
        gateway: { workers: 2, limits: { maxClientConnections: 10 } },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [{ name: "all", match: { paths: ["/*"] }, service: "svc" }],
      }),
    );
    // The kernel spreads the 10 over both workers: neither holds 10 alone.
    const held = await openServed(gw.port, 10);
    try {
      for (let i = 0; i < 4; i++) await assertRefused(gw.port);
      const status = (await (await request(`${gw.statusUrl}/status`)).body.json()) as {
        workers: { openConnections: number }[];
      };
      assert.equal(
        status.workers.reduce((sum, worker) => sum + worker.openConnections, 0),
        10,
      );
      const metrics = await (await request(`${gw.statusUrl}/metrics`)).body.text();
      assert.equal(
        metric(metrics, /^gatehouse_connections_refused_total\{reason="limit"\} (\d+)$/m),
        4,
      );
      // Closing frees places whichever worker held them.
      for (const connection of held.splice(0, 3)) connection.destroy();
      await until(async () => {
        const s = (await (await request(`${gw.statusUrl}/status`)).body.json()) as typeof status;
        return s.workers.reduce((sum, worker) => sum + worker.openConnections, 0) === 7;
      }, "three connections closed");
      held.push(...(await openServed(gw.port, 3)));
      await assertRefused(gw.port);
    } finally {
      for (const connection of held) connection.destroy();
      await gw.stop();
      await up.close();
    }
  });
});
