// threat-protection over real sockets: JSON bodies past a limit are refused with the limit
// named while they stream (a body within the limits reaches the upstream byte for byte),
// attack patterns in the path, query, headers and JSON strings are reported (counted per
// rule on /metrics, passed on) or, in block mode, refused with 403; attack tools are
// refused by User-Agent; XML is passed, or refused when the route says so. HTTP/1.1 and
// h2c alike.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { connect as connectH2 } from "node:http2";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { request } from "undici";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { h2Request } from "../helpers/h2-client.ts";
import { type LogFile, tempLogFile } from "../helpers/log-file.ts";
import { until } from "../helpers/until.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

/** The paths whose request body the upstream received to its end. */
const completed: string[] = [];

/** Answers with the size and SHA-256 of the body it received. */
function digestUpstream(req: IncomingMessage, res: ServerResponse): void {
  const hash = createHash("sha256");
  let size = 0;
  req.on("data", (chunk: Buffer) => {
    size += chunk.length;
    hash.update(chunk);
  });
  req.on("end", () => {
    completed.push(req.url!);
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ size, sha256: hash.digest("hex"), url: req.url }));
  });
}

async function send(
  gw: RunningGateway,
  path: string,
  body?: string,
  headers: Record<string, string> = {},
) {
  const res = await request(`${gw.url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { ...(body !== undefined && { "content-type": "application/json" }), ...headers },
    body,
  });
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever the answer holds
  const json: any = await res.body.json();
  return { status: res.statusCode, json };
}

async function metric(gw: RunningGateway, labels: string): Promise<number> {
  const text = await (await request(`${gw.statusUrl}/metrics`)).body.text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith(`gatehouse_threat_matches_total{${labels}}`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

describe("threat-protection", () => {
  let up: Upstream;
  let gw: RunningGateway;
  let log: LogFile;

  before(async () => {
    up = await startUpstream(digestUpstream);
    log = await tempLogFile();
    const route = (name: string, path: string, config: Record<string, unknown>) => ({
      name,
      match: { paths: [path] },
      service: "svc",
      plugins: [{ name: "threat-protection", config }],
    });
    gw = await startGateway(
      testConfig({
        // HTTP/1.1 and h2c (prior knowledge) on the same port.
        gateway: {
          listen: [{ host: "127.0.0.1", port: 0, http2: true }],
          log: { level: "info", destination: log.path },
        },
        services: [{ name: "svc", targets: [{ url: up.url }] }],
        routes: [
          route("report", "/report/*", {}),
          route("block", "/block/*", {
            json: {
              maxDepth: 4,
              maxKeys: 3,
              maxArrayLength: 5,
              maxStringLength: 16,
              maxKeyLength: 8,
              maxSize: "1kb",
            },
            patterns: { mode: "block" },
            xml: "reject",
          }),
          route("xml", "/xml/*", { xml: { maxDepth: 3 } }),
          {
            name: "decoded",
            match: { paths: ["/decoded/*"] },
            service: "svc",
            plugins: [
              { name: "compression", config: { decompressRequests: true } },
              { name: "threat-protection", config: { json: { maxDepth: 4 } } },
            ],
          },
          route("bots-reported", "/bots/*", {
            badBots: { mode: "report", userAgents: ["EvilCrawler"] },
          }),
        ],
      }),
    );
  });

  after(async () => {
    await gw?.stop();
    await up?.close();
    await log?.remove();
  });

  it("passes an ordinary JSON body to the upstream unchanged", async () => {
    const body = JSON.stringify({
      name: "Siobhán O'Brien",
      note: "select a plan \u00e9",
      tags: [1, 2],
    });
    const { status, json } = await send(gw, "/block/orders", body);
    assert.equal(status, 200);
    assert.equal(json.size, Buffer.byteLength(body));
    assert.equal(json.sha256, createHash("sha256").update(body).digest("hex"));
  });

  for (const [limit, body] of [
    ["maxDepth", '{"a":[[[{"b":1}]]]}'],
    ["maxKeys", '{"a":1,"b":2,"c":3,"d":4}'],
    ["maxArrayLength", "[1,2,3,4,5,6]"],
    ["maxStringLength", '{"a":"0123456789abcdefg"}'],
    ["maxKeyLength", '{"abcdefghi":1}'],
    ["maxSize", JSON.stringify({ a: "x".repeat(10) }).padEnd(1100, " ")],
  ] as const) {
    it(`refuses a body past ${limit} with 413 naming it`, async () => {
      const before = await metric(
        gw,
        `route="block",plugin="threat-protection",rule="json-${limit}",action="blocked"`,
      );
      const { status, json } = await send(gw, "/block/x", body);
      assert.equal(status, 413);
      assert.equal(json.error.code, "GATEHOUSE_THREAT_JSON_LIMIT");
      assert.match(json.error.message, new RegExp(limit));
      const after = await metric(
        gw,
        `route="block",plugin="threat-protection",rule="json-${limit}",action="blocked"`,
      );
      assert.equal(after, before + 1);
    });
  }

  it("refuses a body past a limit when it comes chunked, with no length to judge up front", async () => {
    const res = await request(`${gw.url}/block/chunked`, {
      method: "POST",
      headers: { "content-type": "application/vnd.api+json" },
      body: Readable.from(
        (async function* () {
          yield '{"a":[[';
          yield "[[[1]]]]]}";
        })(),
      ),
    });
    const json = (await res.body.json()) as { error: { code: string; message: string } };
    assert.equal(res.statusCode, 413);
    assert.match(json.error.message, /maxDepth \(4\)/);
    // The chunk that passed the limit was never forwarded: the upstream's request was cut.
    assert.ok(!completed.includes("/block/chunked"), "the upstream never got the whole body");
  });

  it("refuses a body that is not JSON with 400", async () => {
    const { status, json } = await send(gw, "/block/x", '{"a":1]}');
    assert.equal(status, 400);
    assert.equal(json.error.code, "GATEHOUSE_THREAT_JSON_INVALID");
  });

  it("in block mode, refuses attacks in the query, the path, a header and a JSON string", async () => {
    for (const [path, body, headers] of [
      ["/block/search?q=%27%20OR%201%3D1--", undefined, {}],
      ["/block/get?file=..%2F..%2Fetc%2Fpasswd", undefined, {}],
      ["/block/pages/%3Cscript%3Ealert(1)", undefined, {}],
      ["/block/x", undefined, { referer: "https://x.test/?q=<script>alert(1)</script>" }],
      ["/block/x", '{"cmd":"x;cat /etc/hosts"}', {}],
      ["/block/x", '{"bio":"\\u003cscript\\u003e"}', {}],
    ] as const) {
      const { status, json } = await send(gw, path, body, headers);
      assert.equal(status, 403, `${path} ${body}`);
      assert.equal(json.error.code, "GATEHOUSE_THREAT_DETECTED");
    }
  });

  it("in report mode (the default), passes attacks on and counts each rule", async () => {
    const labels = `route="report",plugin="threat-protection",rule="sqli-union-select",action="reported"`;
    const before = await metric(gw, labels);
    const { status, json } = await send(
      gw,
      "/report/search?q=1%20UNION%20SELECT%20password%20FROM%20users",
    );
    assert.equal(status, 200);
    assert.equal(json.url, "/report/search?q=1%20UNION%20SELECT%20password%20FROM%20users");
    const body = JSON.stringify({ comment: "<img src=x onerror=alert(1)>" });
    assert.equal((await send(gw, "/report/comments", body)).json.size, Buffer.byteLength(body));
    assert.equal(await metric(gw, labels), before + 1);
    const xss = `route="report",plugin="threat-protection",rule="xss-event-handler",action="reported"`;
    assert.equal(await metric(gw, xss), 1);
    // Logged with the rules and where they matched, never the value itself.
    await until(async () => (await log.lines()).some((line) => line.where === "body"), "the log");
    const lines = (await log.lines()).filter((line) => line.msg === "threat reported");
    const inBody = lines.find((line) => line.where === "body")!;
    assert.deepEqual(inBody.rules, ["xss-event-handler", "xss-script-call"]);
    assert.ok(lines.some((line) => line.where === "query:q"));
    assert.ok(!JSON.stringify(lines).includes("onerror"), "the value is not logged");
  });

  it("refuses attack tools by User-Agent by default, and reports them where told", async () => {
    const agent = { "user-agent": "sqlmap/1.7.2#stable (https://sqlmap.org)" };
    const refused = await send(gw, "/report/x", undefined, agent);
    assert.equal(refused.status, 403);
    assert.equal(refused.json.error.code, "GATEHOUSE_THREAT_BAD_BOT");
    assert.equal((await send(gw, "/bots/x", undefined, agent)).status, 200);
    assert.equal(
      (await send(gw, "/bots/x", undefined, { "user-agent": "evilcrawler/2" })).status,
      200,
    );
    assert.equal(
      await metric(
        gw,
        `route="bots-reported",plugin="threat-protection",rule="bot-custom",action="reported"`,
      ),
      1,
    );
    assert.equal(
      (await send(gw, "/report/x", undefined, { "user-agent": "curl/8.5.0" })).status,
      200,
    );
  });

  it("with XML limits, passes XML within them unchanged and refuses a DOCTYPE or deep nesting", async () => {
    const xml = { "content-type": "text/xml; charset=utf-8" };
    const order = '<?xml version="1.0"?><order id="7" note="a > b"><item sku="A-1"/></order>';
    const passed = await send(gw, "/xml/orders", order, xml);
    assert.equal(passed.status, 200);
    assert.equal(passed.json.sha256, createHash("sha256").update(order).digest("hex"));
    const laughs = '<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><l>&b;</l>';
    const doctype = await send(gw, "/xml/orders", laughs, xml);
    assert.equal(doctype.status, 413);
    assert.equal(doctype.json.error.code, "GATEHOUSE_THREAT_XML_LIMIT");
    assert.match(doctype.json.error.message, /DOCTYPE/);
    const deep = await send(gw, "/xml/orders", "<a><b><c><d/></c></b></a>", xml);
    assert.equal(deep.status, 413);
    assert.match(deep.json.error.message, /maxDepth \(3\)/);
    const rule = `route="xml",plugin="threat-protection",rule="xml-doctype",action="blocked"`;
    assert.equal(await metric(gw, rule), 1);
  });

  it("refuses a compressed JSON body it cannot read, and checks one that compression decodes", async () => {
    const gzip = (text: string) =>
      request(`${gw.url}${text.startsWith("[") ? "/decoded/deep" : "/decoded/ok"}`, {
        method: "POST",
        headers: { "content-type": "application/json", "content-encoding": "gzip" },
        body: gzipSync(text),
      });
    const plain = await request(`${gw.url}/block/x`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": "gzip" },
      body: gzipSync('{"a":1}'),
    });
    assert.equal(plain.statusCode, 415);
    assert.equal(
      ((await plain.body.json()) as { error: { code: string } }).error.code,
      "GATEHOUSE_BODY_ENCODING_UNSUPPORTED",
    );
    const ok = await gzip('{"name":"O\'Brien"}');
    assert.equal(ok.statusCode, 200);
    assert.equal(
      ((await ok.body.json()) as { size: number }).size,
      Buffer.byteLength('{"name":"O\'Brien"}'),
    );
    const deep = await gzip("[[[[[[1]]]]]]");
    assert.equal(deep.statusCode, 413);
    assert.match(
      ((await deep.body.json()) as { error: { message: string } }).error.message,
      /maxDepth \(4\)/,
    );
  });

  it("passes XML by default and refuses it where `xml: reject`", async () => {
    const xml = { "content-type": "application/xml" };
    assert.equal((await send(gw, "/report/x", "<a/>", xml)).status, 200);
    const refused = await send(gw, "/block/x", "<a/>", xml);
    assert.equal(refused.status, 415);
    assert.equal(refused.json.error.code, "GATEHOUSE_THREAT_XML_REFUSED");
  });

  it("over h2c, passes an ordinary body whole and refuses one past a limit as it streams", async () => {
    const session = connectH2(gw.url);
    try {
      const post = (body: string[]) =>
        h2Request(
          session,
          { ":method": "POST", ":path": "/block/x", "content-type": "application/json" },
          body,
        );
      const ordinary = await post(['{"name":', '"Zoë O\'Neil"}']);
      assert.equal(ordinary.status, 200);
      assert.equal(JSON.parse(ordinary.body).size, Buffer.byteLength('{"name":"Zoë O\'Neil"}'));
      const deep = await post(['{"a":[[', "[[[1]]]]]}"]);
      assert.equal(deep.status, 413);
      assert.match(JSON.parse(deep.body).error.message, /maxDepth \(4\)/);
      const attack = await h2Request(session, {
        ":method": "GET",
        ":path": "/block/x?q=%3Cscript%3E",
      });
      assert.equal(attack.status, 403);
    } finally {
      session.close();
    }
  });
});
