// The request-validation plugin over real sockets, against a real upstream and the OpenAPI
// documents of test/fixtures/request-validation (3.0 with local and relative-file $refs,
// 3.1): a valid request reaches the upstream byte for byte, each kind of invalid one is
// refused with every problem listed, report mode passes and counts, responses are checked
// and logged, and the metrics and process log say so.
import assert from "node:assert/strict";
import { connect as connectH2 } from "node:http2";
import { connect } from "node:net";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { Gateway } from "../../src/gateway.ts";
import { parseGatewayConfig } from "../../src/runtime/validate.ts";
import { testConfig } from "../helpers/gateway.ts";
import { type LogFile, tempLogFile } from "../helpers/log-file.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

const fixtures = fileURLToPath(new URL("../fixtures/request-validation/", import.meta.url));

interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

describe("request-validation", () => {
  let up: Upstream;
  let gateway: Gateway;
  let url: string;
  let statusUrl: string;
  let log: LogFile;
  let accessLog: LogFile;
  const seen: Seen[] = [];
  /** What the upstream answers, by path: JSON text. */
  const answers = new Map<string, string>();

  before(async () => {
    up = await startUpstream((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        seen.push({
          method: req.method!,
          url: req.url!,
          headers: req.headers,
          body: Buffer.concat(chunks),
        });
        const answer = answers.get(req.url!.split("?")[0]!) ?? '{"id":1,"name":"Rex"}';
        res.writeHead(req.method === "POST" ? 201 : 200, { "content-type": "application/json" });
        res.end(answer);
      });
    });
    log = await tempLogFile();
    accessLog = await tempLogFile();
    const plugin = (config: Record<string, unknown>) => [{ name: "request-validation", config }];
    const config = testConfig({
      gateway: {
        // HTTP/1.1 and h2c (prior knowledge) on the same port.
        listen: [{ host: "127.0.0.1", port: 0, http2: true }],
        log: { level: "info", destination: log.path },
        accessLog: { enabled: true, destination: accessLog.path },
      },
      services: [{ name: "pets", targets: [{ url: up.url }] }],
      routes: [
        {
          name: "pets",
          match: { paths: ["/pets", "/pets/*"] },
          service: "pets",
          // Relative to the config file, which is in the fixtures folder.
          plugins: plugin({ spec: "petstore-3.0.yaml", validateResponses: true }),
        },
        {
          name: "report",
          match: { paths: ["/report/*"] },
          service: "pets",
          stripPrefix: "/report",
          plugins: plugin({ spec: "petstore-3.0.yaml", mode: "report", basePath: "/report" }),
        },
        {
          name: "orders",
          match: { paths: ["/orders"] },
          service: "pets",
          plugins: plugin({ spec: join(fixtures, "orders-3.1.yaml") }),
        },
        {
          name: "small",
          match: { paths: ["/small/*"] },
          service: "pets",
          stripPrefix: "/small",
          plugins: plugin({ spec: "petstore-3.0.yaml", basePath: "/small", maxBodySize: 64 }),
        },
      ],
    });
    gateway = new Gateway(
      parseGatewayConfig(JSON.stringify(config), join(fixtures, "gateway.yaml"), {}),
    );
    await gateway.start();
    const { proxy, status } = gateway.addresses();
    url = `http://127.0.0.1:${proxy[0]!.port}`;
    statusUrl = `http://127.0.0.1:${status!.port}`;
  });

  after(async () => {
    await gateway?.stop();
    await up?.close();
    await log?.remove();
    await accessLog?.remove();
  });

  async function send(
    method: string,
    path: string,
    options: { body?: string | Readable; headers?: Record<string, string> } = {},
  ) {
    const res = await request(`${url}${path}`, {
      method: method as "GET",
      body: options.body,
      headers: options.headers,
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
  }

  /** The problems of a 400 GATEHOUSE_REQUEST_INVALID. */
  async function problems(method: string, path: string, options?: Parameters<typeof send>[2]) {
    const res = await send(method, path, options);
    assert.equal(res.status, 400, res.text);
    const { error } = res.json();
    assert.equal(error.code, "GATEHOUSE_REQUEST_INVALID");
    assert.match(error.requestId, /\S/);
    return error.details.problems;
  }

  const json = { "content-type": "application/json" };

  it("passes a valid request on unchanged: the upstream gets the same body bytes", async () => {
    const body =
      '{ "name" : "Rex",\n  "tag": null, "age": 2.5,\t"owner": {"email": "ann@example.com"}, "é": 0 }';
    // "é" is not a NewPet property (additionalProperties: false): take it out to be valid.
    const valid = body.replace(', "é": 0', "");
    const before = seen.length;
    const res = await send("POST", "/pets", {
      body: valid,
      headers: { ...json, "x-request-tag": "abc" },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(seen.length, before + 1);
    const got = seen.at(-1)!;
    assert.equal(got.body.toString("utf8"), valid);
    assert.equal(got.headers["content-type"], "application/json");
    assert.equal(got.headers["x-request-tag"], "abc");
    // Read by the plugin first, the body still counts in the access log.
    const requestId = got.headers["x-request-id"];
    await until(
      async () => (await accessLog.lines()).some((line) => line.requestId === requestId),
      "the access log line",
    );
    const line = (await accessLog.lines()).find((entry) => entry.requestId === requestId)!;
    assert.equal(line.bytesIn, Buffer.byteLength(valid));

    const list = await send("GET", "/pets?limit=10&tags=cat&tags=dog");
    assert.equal(list.status, 200);
    assert.equal(seen.at(-1)!.url, "/pets?limit=10&tags=cat&tags=dog");
    const one = await send("GET", "/pets/7?fields=name,tag", {
      headers: { cookie: "session=abcd" },
    });
    assert.equal(one.status, 200);
  });

  it("reads a chunked body whole before the upstream sees it", async () => {
    const before = seen.length;
    const chunks = ['{"name":', '"Tom"}'];
    const res = await send("POST", "/pets", {
      body: Readable.from(chunks.map((chunk) => Buffer.from(chunk))),
      headers: { ...json, "x-request-tag": "abc" },
    });
    assert.equal(res.status, 201, res.text);
    assert.equal(seen.at(-1)!.body.toString(), '{"name":"Tom"}');
    const bad = await problems("POST", "/pets", {
      body: Readable.from([Buffer.from('{"name":'), Buffer.from("42}")]),
      headers: { ...json, "x-request-tag": "abc" },
    });
    assert.deepEqual(bad, [{ in: "body", pointer: "/name", message: "must be string" }]);
    assert.equal(seen.length, before + 1, "the refused request never reached the upstream");
  });

  it("asks a client that sent Expect: 100-continue for its body, then checks it", async () => {
    for (const [body, status] of [
      ['{"name":"Kit"}', 201],
      ['{"name":1}', 400],
    ] as const) {
      const socket = connect(Number(new URL(url).port), "127.0.0.1");
      let received = "";
      socket.setEncoding("latin1").on("data", (chunk: string) => {
        received += chunk;
      });
      socket.write(
        `POST /pets HTTP/1.1\r\nHost: pets\r\nContent-Type: application/json\r\nX-Request-Tag: abc\r\nContent-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
      );
      try {
        await until(() => received.startsWith("HTTP/1.1 100 Continue\r\n\r\n"), "100 Continue");
        socket.write(body);
        await until(() => received.includes(`HTTP/1.1 ${status} `), `the ${status}: ${received}`);
      } finally {
        socket.destroy();
      }
    }
  });

  it("reads and checks an HTTP/2 request's body the same way", async () => {
    const session = connectH2(url);
    const post = (body: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const stream = session.request({
          ":method": "POST",
          ":path": "/pets",
          "content-type": "application/json",
          "x-request-tag": "abc",
        });
        let text = "";
        let status = 0;
        stream.setEncoding("utf8");
        stream.on("response", (headers) => {
          status = Number(headers[":status"]);
        });
        stream.on("data", (chunk: string) => {
          text += chunk;
        });
        stream.on("end", () => resolve({ status, text }));
        stream.on("error", reject);
        stream.end(body);
      });
    try {
      const valid = '{"name": "Hop"}';
      const ok = await post(valid);
      assert.equal(ok.status, 201, ok.text);
      assert.equal(seen.at(-1)!.body.toString(), valid);
      const bad = await post('{"name": ["Hop"]}');
      assert.equal(bad.status, 400);
      assert.deepEqual(JSON.parse(bad.text).error.details.problems, [
        { in: "body", pointer: "/name", message: "must be string" },
      ]);
    } finally {
      session.close();
    }
  });

  it("refuses each kind of invalid request with every problem listed", async () => {
    const before = seen.length;
    assert.deepEqual(await problems("GET", "/pets?limit=abc&tags=cat&tags=fish"), [
      { in: "query", pointer: "/limit", message: "must be integer" },
      { in: "query", pointer: "/tags/1", message: "must be equal to one of the allowed values" },
    ]);
    assert.deepEqual(
      await problems("GET", "/pets/0?fields=a,b,c", { headers: { cookie: "session=ab; other=1" } }),
      [
        { in: "path", pointer: "/petId", message: "must be >= 1" },
        { in: "query", pointer: "/fields", message: "must NOT have more than 2 items" },
        { in: "cookie", pointer: "/session", message: "must NOT have fewer than 4 characters" },
      ],
    );
    assert.deepEqual(await problems("GET", "/pets/rex"), [
      { in: "path", pointer: "/petId", message: "must be integer" },
    ]);
    assert.deepEqual(
      await problems("POST", "/pets", {
        body: '{"name":"","age":0,"owner":{},"color":"red"}',
        headers: { ...json, "x-request-tag": "ABC" },
      }),
      [
        { in: "header", pointer: "/X-Request-Tag", message: 'must match pattern "^[a-z]+$"' },
        { in: "body", pointer: "/color", message: "is not allowed" },
        { in: "body", pointer: "/name", message: "must NOT have fewer than 1 characters" },
        { in: "body", pointer: "/age", message: "must be > 0" },
        { in: "body", pointer: "/owner/email", message: "is required" },
      ],
    );
    assert.deepEqual(
      await problems("POST", "/pets", { body: "{", headers: { ...json, "x-request-tag": "a" } }),
      [
        {
          in: "body",
          pointer: "",
          message:
            "is not valid JSON: Expected property name or '}' in JSON at position 1 (line 1 column 2)",
        },
      ],
    );
    assert.deepEqual(
      await problems("POST", "/pets", {
        body: "name=rex",
        headers: { "content-type": "text/plain", "x-request-tag": "a" },
      }),
      [{ in: "header", pointer: "/content-type", message: "must be one of: application/json" }],
    );
    assert.deepEqual(await problems("POST", "/pets", { headers: { "x-request-tag": "a" } }), [
      { in: "body", pointer: "", message: "is required" },
    ]);
    assert.equal(seen.length, before, "no invalid request reached the upstream");
  });

  it("answers 404 and 405 for what the document has no operation for; a literal path beats a template", async () => {
    const missing = await send("GET", "/pets/1/toys");
    assert.equal(missing.status, 404);
    assert.equal(missing.json().error.code, "GATEHOUSE_ROUTE_NOT_FOUND");
    const method = await send("PUT", "/pets/1");
    assert.equal(method.status, 405);
    assert.equal(method.json().error.code, "GATEHOUSE_METHOD_NOT_ALLOWED");
    assert.equal(method.headers.allow, "GET, DELETE");
    // /pets/mine is its own operation: "mine" is never checked as an integer petId.
    assert.equal((await send("GET", "/pets/mine")).status, 200);
  });

  it("refuses a body larger than maxBodySize with 413, declared or chunked", async () => {
    const big = JSON.stringify({ name: "x".repeat(100) });
    const declared = await send("POST", "/small/pets", {
      body: big,
      headers: { ...json, "x-request-tag": "a" },
    });
    assert.equal(declared.status, 413);
    const chunked = await send("POST", "/small/pets", {
      body: Readable.from([Buffer.from(big.slice(0, 50)), Buffer.from(big.slice(50))]),
      headers: { ...json, "x-request-tag": "a" },
    });
    assert.equal(chunked.status, 413);
    const small = await send("POST", "/small/pets", {
      body: '{"name":"a"}',
      headers: { ...json, "x-request-tag": "a" },
    });
    assert.equal(small.status, 201);
    assert.equal(seen.at(-1)!.url, "/pets", "basePath: the document's paths are under /small");
  });

  it("3.0 nullable, 3.1 type lists, prefixItems and numeric exclusiveMinimum", async () => {
    const headers = { ...json, "x-request-tag": "abc" };
    assert.equal(
      (await send("POST", "/pets", { body: '{"name":"a","tag":null}', headers })).status,
      201,
    );
    assert.deepEqual(await problems("POST", "/pets", { body: '{"name":null}', headers }), [
      { in: "body", pointer: "/name", message: "must be string" },
    ]);
    const order = '{"lines":[{"sku":"a","qty":1}],"note":null,"location":[1.5,2]}';
    assert.equal((await send("POST", "/orders", { body: order, headers: json })).status, 201);
    assert.deepEqual(
      await problems("POST", "/orders", {
        body: '{"lines":[{"sku":"a","qty":0}],"note":3,"location":[1,2,3]}',
        headers: json,
      }),
      [
        { in: "body", pointer: "/lines/0/qty", message: "must be > 0" },
        { in: "body", pointer: "/note", message: "must be string,null" },
        { in: "body", pointer: "/location", message: "must NOT have more than 2 items" },
      ],
    );
  });

  it("report mode passes the invalid request, logs its problems and counts it", async () => {
    const before = seen.length;
    const res = await send("POST", "/report/pets", { body: '{"name":5}', headers: json });
    assert.equal(res.status, 201);
    assert.equal(seen.length, before + 1);
    assert.equal(seen.at(-1)!.body.toString(), '{"name":5}');
    assert.equal((await send("GET", "/report/pets?limit=5")).status, 200);
    assert.equal((await send("GET", "/report/nowhere")).status, 200);
    await until(
      async () => (await log.lines()).some((line) => line.path === "/report/pets"),
      "the report log line",
    );
    const line = (await log.lines()).find((entry) => entry.path === "/report/pets")!;
    assert.equal(line.msg, "request does not match the OpenAPI document");
    assert.deepEqual(line.problems, [
      { in: "header", pointer: "/X-Request-Tag", message: "is required" },
      { in: "body", pointer: "/name", message: "must be string" },
    ]);
    const metrics = await (await request(`${statusUrl}/metrics`)).body.text();
    const count = (labels: string) =>
      Number(
        metrics
          .split("\n")
          .find((entry) => entry.startsWith(`gatehouse_request_validations_total{${labels}}`))
          ?.split(" ")
          .at(-1) ?? 0,
      );
    const on = (route: string, mode: string, result: string) =>
      count(`route="${route}",plugin="request-validation",mode="${mode}",result="${result}"`);
    assert.equal(on("report", "report", "invalid"), 1);
    assert.equal(on("report", "report", "valid"), 1);
    assert.equal(on("report", "report", "unknown"), 1);
    assert.ok(on("pets", "enforce", "invalid") >= 9, metrics);
    assert.ok(on("pets", "enforce", "unknown") >= 2);
  });

  it("checks the upstream's responses when asked: problems logged and counted, the response unchanged", async () => {
    answers.set("/pets/9", '{"id":"nine"}');
    const res = await send("GET", "/pets/9");
    assert.equal(res.status, 200);
    assert.equal(res.text, '{"id":"nine"}');
    await until(
      async () => (await log.lines()).some((line) => line.path === "/pets/9"),
      "the response log line",
    );
    const line = (await log.lines()).find((entry) => entry.path === "/pets/9")!;
    assert.equal(line.msg, "response does not match the OpenAPI document");
    assert.equal(line.status, 200);
    assert.deepEqual(line.problems, [
      { in: "response", pointer: "/name", message: "is required" },
      { in: "response", pointer: "/id", message: "must be integer" },
    ]);
    const metrics = await (await request(`${statusUrl}/metrics`)).body.text();
    assert.match(
      metrics,
      /gatehouse_response_validations_total\{route="pets",plugin="request-validation",result="invalid"\} [1-9]/,
    );
    assert.match(
      metrics,
      /gatehouse_response_validations_total\{route="pets",plugin="request-validation",result="valid"\} [1-9]/,
    );
  });
});
