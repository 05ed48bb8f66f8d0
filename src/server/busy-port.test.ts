// Naming the listener whose port was taken, from listen()'s real EADDRINUSE error.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { describe, it } from "node:test";
import { busyListener, configuredListeners } from "./busy-port.ts";

const listen = (server: Server, port: number) =>
  new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });

describe("busyListener", () => {
  it("names the configured listener a real EADDRINUSE was for, and nothing else", async () => {
    const taken = createServer();
    await listen(taken, 0);
    const port = (taken.address() as { port: number }).port;
    const listeners = configuredListeners({
      listen: [
        { host: "127.0.0.1", port: 0 },
        { host: "127.0.0.1", port: 1 },
      ],
      status: { host: "127.0.0.1", port },
      admin: { host: "127.0.0.1", port: 2 },
    });
    assert.deepEqual(
      listeners.map(({ name, setting }) => `${name} ${setting}`),
      [
        "proxy gateway.listen[0].port",
        "proxy gateway.listen[1].port",
        "status gateway.status.port",
        "admin gateway.admin.port",
      ],
    );
    const second = createServer();
    const error = await listen(second, port).then(
      () => assert.fail("the port was free"),
      (failure: unknown) => failure,
    );
    taken.close();
    assert.equal(busyListener(error, listeners)?.setting, "gateway.status.port");
    assert.equal(busyListener(error, listeners.slice(0, 2)), undefined);
    assert.equal(busyListener(new Error("other"), listeners), undefined);
    assert.equal(busyListener({ code: "EADDRINUSE", port: 0 }, listeners), undefined);
  });
});
