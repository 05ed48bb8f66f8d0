// WebSocket upgrades sent to a target that cannot be reached: tried on another target
// within the retry policy, and the dead target's breaker learns of it.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { request } from "undici";
import { WebSocket, WebSocketServer } from "ws";
import { startSimpleGateway } from "../helpers/gateway.ts";
import { startUpstream } from "../helpers/upstream.ts";

/** A `ws` echo server on a free loopback port; counts the upgrades it accepted. */
async function startEcho() {
  const server = createServer();
  const wss = new WebSocketServer({ server });
  let upgrades = 0;
  wss.on("connection", (socket) => {
    upgrades++;
    socket.on("message", (data) => socket.send(`echo:${data}`));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get upgrades() {
      return upgrades;
    },
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A loopback URL nothing listens on (a server was there and closed). */
async function deadUrl(): Promise<string> {
  const up = await startUpstream();
  await up.close();
  return up.url;
}

/** Opens a WebSocket through the gateway and sends one message: its echo, or how it failed. */
async function echoThrough(url: string): Promise<string> {
  const socket = new WebSocket(url);
  try {
    const outcome = await Promise.race([
      once(socket, "open").then(() => "open"),
      once(socket, "unexpected-response").then(([, res]) => `status ${res.statusCode}`),
      once(socket, "error").then(([error]) => `error ${(error as Error).message}`),
    ]);
    if (outcome !== "open") return outcome;
    socket.send("ping");
    const [data] = await once(socket, "message");
    return String(data);
  } finally {
    socket.terminate();
  }
}

describe("websocket failover", () => {
  it("opens every upgrade when one of two targets is dead, and the dead one is ejected", async () => {
    const dead = await deadUrl();
    const echo = await startEcho();
    const gw = await startSimpleGateway([dead, echo.url], {}, {}, { retries: { attempts: 1 } });
    try {
      const wsUrl = gw.url.replace("http:", "ws:");
      const answers: string[] = [];
      for (let i = 0; i < 8; i++) answers.push(await echoThrough(`${wsUrl}/ws/${i}`));
      assert.deepEqual(answers, Array(8).fill("echo:ping"), "every upgrade went through");
      assert.equal(echo.upgrades, 8);
      const view = (await (await request(`${gw.statusUrl}/upstreams`)).body.json()) as {
        services: { targets: { url: string; ejected: boolean }[] }[];
      };
      const target = view.services[0]!.targets.find((t) => t.url === dead)!;
      assert.equal(target.ejected, true, "the failed connection counted against the dead target");
    } finally {
      await gw.stop();
      await echo.close();
    }
  });

  it("answers 502 once the attempts are spent when no target can be reached", async () => {
    const gw = await startSimpleGateway(
      [await deadUrl(), await deadUrl()],
      {},
      {},
      {
        retries: { attempts: 1 },
      },
    );
    try {
      const wsUrl = gw.url.replace("http:", "ws:");
      assert.equal(await echoThrough(`${wsUrl}/ws`), "status 502");
    } finally {
      await gw.stop();
    }
  });

  it("does not retry when the service's retries are off", async () => {
    const dead = await deadUrl();
    const echo = await startEcho();
    const gw = await startSimpleGateway([dead, echo.url], {}, {}, { retries: { attempts: 0 } });
    try {
      const wsUrl = gw.url.replace("http:", "ws:");
      const answers = new Set<string>();
      // Round-robin: one of the first two upgrades goes to the dead target.
      for (let i = 0; i < 2; i++) answers.add(await echoThrough(`${wsUrl}/ws/${i}`));
      assert.deepEqual([...answers].sort(), ["echo:ping", "status 502"]);
    } finally {
      await gw.stop();
      await echo.close();
    }
  });
});
