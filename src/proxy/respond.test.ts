// The one error writer answers what a client sees: a catalogued code in the compact body the
// request path sends, and a thrown GatehouseError with its message, problems and headers,
// indented as the admin API answers people.
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { GatehouseError } from "../errors.ts";
import { sendError } from "./respond.ts";

describe("sendError", () => {
  let server: Server;
  let origin: string;
  const answers = new Map<string, (res: ServerResponse) => void>();

  before(async () => {
    server = createServer((req, res) => answers.get(req.url ?? "")!(res));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  async function get(path: string, answer: (res: ServerResponse) => void) {
    answers.set(path, answer);
    const res = await request(`${origin}${path}`, { signal: AbortSignal.timeout(5000) });
    return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
  }

  it("answers a code with the catalogue's status and message in one compact line", async () => {
    const res = await get("/code", (r) =>
      sendError(r, "GATEHOUSE_METHOD_NOT_ALLOWED", "req-1", {
        close: true,
        headers: { allow: "GET" },
      }),
    );
    assert.equal(res.status, 405);
    assert.equal(res.headers.allow, "GET");
    assert.equal(res.headers.connection, "close");
    assert.equal(res.headers["x-request-id"], "req-1");
    assert.equal(res.headers["content-type"], "application/json");
    assert.equal(
      res.text,
      '{"error":{"code":"GATEHOUSE_METHOD_NOT_ALLOWED","message":"The route does not accept this method","requestId":"req-1"}}',
    );
  });

  it("answers a thrown GatehouseError with its message, problems and headers", async () => {
    const error = new GatehouseError("GATEHOUSE_CONFIG_INVALID", "routes[0].service: unknown", {
      problems: ["routes[0].service: unknown"],
      headers: { "www-authenticate": "Bearer" },
    });
    const res = await get("/thrown", (r) => sendError(r, error, "req-2", { indent: 2 }));
    assert.equal(res.status, 400);
    assert.equal(res.headers["www-authenticate"], "Bearer");
    assert.equal(res.headers["content-length"], String(Buffer.byteLength(res.text)));
    assert.equal(
      res.text,
      `${JSON.stringify(
        {
          error: {
            code: "GATEHOUSE_CONFIG_INVALID",
            message: "routes[0].service: unknown",
            requestId: "req-2",
            problems: ["routes[0].service: unknown"],
          },
        },
        null,
        2,
      )}\n`,
    );
  });
});
