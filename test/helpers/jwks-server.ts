/**
 * @module test/helpers/jwks-server
 * A real JWKS endpoint for tests: serves whatever key set the test puts in it, counts the
 * requests it gets, and can be told to fail.
 */
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo, Socket } from "node:net";

export interface JwksServer {
  url: string;
  /** The URL of the key set document. */
  jwksUri: string;
  /** Every request received, any path. */
  requests: IncomingMessage[];
  /** The document served at `jwksUri`: `{ keys: [...] }`. */
  keys: object[];
  /** When set, requests get this status and no key set. */
  failWith: number | undefined;
  close(): Promise<void>;
}

export async function startJwksServer(keys: object[] = []): Promise<JwksServer> {
  const sockets = new Set<Socket>();
  const state: JwksServer = {
    url: "",
    jwksUri: "",
    requests: [],
    keys,
    failWith: undefined,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  const server = createServer((req, res) => {
    state.requests.push(req);
    if (state.failWith !== undefined) {
      res.writeHead(state.failWith).end("down");
      return;
    }
    const body = JSON.stringify({ keys: state.keys });
    res.writeHead(200, { "content-type": "application/jwk-set+json" }).end(body);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.jwksUri = `${state.url}/.well-known/jwks.json`;
  return state;
}
