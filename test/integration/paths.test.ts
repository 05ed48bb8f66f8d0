// Path normalisation over real sockets: the router, any access check and the upstream
// all see one canonical path, so an encoded traversal cannot route as one path and be
// served as another.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { GatehouseConfigInput } from "../../src/config/schema/index.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { type ParsedResponse, RawConnection } from "../helpers/raw-connection.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";

/** Three upstreams that answer `<name> <url they received>`. */
interface Upstreams {
  pub: Upstream;
  adm: Upstream;
  rest: Upstream;
}

async function startUpstreams(): Promise<Upstreams> {
  const named = (name: string) =>
    startUpstream((req, res) => {
      res.setHeader("content-type", "text/plain");
      res.end(`${name} ${req.url}`);
    });
  return { pub: await named("pub"), adm: await named("adm"), rest: await named("rest") };
}

async function closeUpstreams(ups: Upstreams | undefined): Promise<void> {
  if (!ups) return;
  await Promise.all([ups.pub.close(), ups.adm.close(), ups.rest.close()]);
}

/** `/public/*` → pub, `/admin[/*]` → adm, everything else → rest. */
function startPathGateway(
  ups: Upstreams,
  paths: Partial<GatehouseConfigInput["gateway"]["paths"]> = {},
): Promise<RunningGateway> {
  return startGateway(
    testConfig({
      gateway: { paths },
      services: [
        { name: "pub", targets: [{ url: ups.pub.url }] },
        { name: "adm", targets: [{ url: ups.adm.url }] },
        { name: "rest", targets: [{ url: ups.rest.url }] },
      ],
      routes: [
        { name: "public", match: { paths: ["/public/*"] }, service: "pub" },
        { name: "admin", match: { paths: ["/admin", "/admin/*"] }, service: "adm" },
        { name: "users", match: { paths: ["/users/:id"] }, service: "rest", rewrite: "/u/:id" },
        { name: "rest", match: { paths: ["/*"] }, service: "rest" },
      ],
    }),
  );
}

/** Sends `GET <target>` verbatim, so the gateway sees the target exactly as written. */
async function get(port: number, target: string): Promise<ParsedResponse> {
  const connection = await RawConnection.open(port);
  try {
    await connection.write(`GET ${target} HTTP/1.1\r\nHost: a\r\n\r\n`);
    return await connection.readResponse();
  } finally {
    connection.destroy();
  }
}

/** Asserts the request was served by `expected` (e.g. "adm /admin"). */
async function assertServed(port: number, target: string, expected: string): Promise<void> {
  const response = await get(port, target);
  assert.equal(response.status, 200, `${target}: ${response.body}`);
  assert.equal(response.body, expected, `${target} was served as`);
}

/** Asserts the request was refused with 400 GATEHOUSE_BAD_PATH. */
async function assertBadPath(port: number, target: string): Promise<void> {
  const response = await get(port, target);
  assert.equal(response.status, 400, `${target}: ${response.body}`);
  assert.equal(JSON.parse(response.body).error.code, "GATEHOUSE_BAD_PATH", target);
}

/** The number of requests each upstream received. */
function counts(ups: Upstreams): [number, number, number] {
  return [ups.pub.requests.length, ups.adm.requests.length, ups.rest.requests.length];
}

describe("paths with the default options (encodedSlashes: reject, mergeSlashes: false)", () => {
  let ups: Upstreams;
  let gw: RunningGateway;

  before(async () => {
    ups = await startUpstreams();
    gw = await startPathGateway(ups);
  });
  after(async () => {
    await gw?.stop();
    await closeUpstreams(ups);
  });

  it("removes dot segments before routing and forwarding", async () => {
    await assertServed(gw.port, "/a/./b/../c", "rest /a/c");
    await assertServed(gw.port, "/public/x/./y/../z?q=/../", "pub /public/x/z?q=/../");
    await assertServed(gw.port, "/public/..", "rest /");
    await assertServed(gw.port, "/../../public/x", "pub /public/x");
    await assertServed(gw.port, "/public/x/.", "pub /public/x/");
  });

  it("routes an encoded traversal out of /public/* as the path it resolves to", async () => {
    const before = counts(ups);
    for (const target of [
      "/public/%2e%2e/admin",
      "/public/%2E%2E/admin",
      "/public/.%2e/admin",
      "/public/%2e./admin/",
      "/public/x/%2e%2e/%2e%2e/admin",
      "/public/%2e/%2e%2e/admin",
    ]) {
      const response = await get(gw.port, target);
      assert.equal(response.status, 200, target);
      assert.match(response.body, /^adm \/admin\/?$/, `${target} was served as ${response.body}`);
    }
    const after = counts(ups);
    assert.equal(after[0], before[0], "the /public/* upstream must see none of these");
    assert.equal(after[1], before[1] + 6);
  });

  it("fills route parameters and rewrites from the normalised path", async () => {
    await assertServed(gw.port, "/users/%7Ebob", "rest /u/~bob");
    await assertServed(gw.port, "/users/x/../7", "rest /u/7");
    await assertServed(gw.port, "/users/caf%c3%a9", "rest /u/caf%C3%A9");
    // An empty segment is no parameter: not the rewriting route, so not half rewritten.
    await assertServed(gw.port, "/users/", "rest /users/");
    await assertServed(gw.port, "/users/%2e", "rest /users/");
  });

  it("decodes unreserved characters and keeps the rest encoded in upper case", async () => {
    await assertServed(gw.port, "/public/%7E%7e%41%2D%5F%2E%30", "pub /public/~~A-_.0");
    await assertServed(gw.port, "/public/%3a%3F%23%20", "pub /public/%3A%3F%23%20");
    await assertServed(gw.port, "/public/caf%c3%a9", "pub /public/caf%C3%A9");
    // An encoded % stays encoded: never decoded twice.
    await assertServed(gw.port, "/public/%252e%252e/admin", "pub /public/%252e%252e/admin");
    await assertServed(gw.port, "/public/%2541", "pub /public/%2541");
  });

  it("encodes raw characters a path may not hold, so both spellings are one path", async () => {
    await assertServed(gw.port, '/public/a"b', "pub /public/a%22b");
    await assertServed(gw.port, "/public/a%22b", "pub /public/a%22b");
    await assertServed(gw.port, "/public/{x}|", "pub /public/%7Bx%7D%7C");
  });

  it("routes a static route written decoded when the request encodes it", async () => {
    await assertServed(gw.port, "/%61dmin", "adm /admin");
    await assertServed(gw.port, "/%70ublic/x", "pub /public/x");
  });

  it("forwards a percent-encoded byte that is not UTF-8", async () => {
    await assertServed(gw.port, "/files/%FF%FE", "rest /files/%FF%FE");
    await assertServed(gw.port, "/public/%c3", "pub /public/%C3");
  });

  it("leaves the query string as sent", async () => {
    await assertServed(gw.port, "/public/q?a=%7e&b=%2F&c=..", "pub /public/q?a=%7e&b=%2F&c=..");
  });

  for (const target of [
    "/public/a%2Fb",
    "/public/a%2fb",
    "/public/..%2fadmin",
    "/public/%2e%2e%2fadmin",
    "/public/a%5Cb",
    "/public/a%5cb",
    "/public/a\\b",
    "/public\\..\\admin",
  ]) {
    it(`refuses ${JSON.stringify(target)} with 400 GATEHOUSE_BAD_PATH`, async () => {
      await assertBadPath(gw.port, target);
    });
  }

  for (const target of ["/public/..;/admin", "/public/%2e%2e;x=1/admin", "/public/.;/x"]) {
    it(`refuses ${JSON.stringify(target)}, a traversal for servlet upstreams`, async () => {
      await assertBadPath(gw.port, target);
    });
  }

  for (const target of ["/public/%00", "/public/a%00b", "/%00/../admin"]) {
    it(`refuses an encoded NUL in ${JSON.stringify(target)}`, async () => {
      await assertBadPath(gw.port, target);
    });
  }

  for (const target of ["/public/%zz", "/public/%4", "/public/%", "/public/%g0", "/public/%%41"]) {
    it(`refuses invalid percent-encoding ${JSON.stringify(target)}`, async () => {
      await assertBadPath(gw.port, target);
    });
  }

  it("keeps repeated slashes when mergeSlashes is off", async () => {
    await assertServed(gw.port, "//public//x", "rest //public//x");
    await assertServed(gw.port, "/public//x", "pub /public//x");
  });

  it("never lets a refused path reach an upstream", async () => {
    const before = counts(ups);
    await assertBadPath(gw.port, "/admin%2f..%2fpublic");
    await assertBadPath(gw.port, "/public/%2e%2e%5cadmin");
    assert.deepEqual(counts(ups), before);
  });
});

describe("paths with encodedSlashes: decode", () => {
  let ups: Upstreams;
  let gw: RunningGateway;

  before(async () => {
    ups = await startUpstreams();
    gw = await startPathGateway(ups, { encodedSlashes: "decode" });
  });
  after(async () => {
    await gw?.stop();
    await closeUpstreams(ups);
  });

  it("decodes %2F, %5C and \\ to / before removing dot segments", async () => {
    await assertServed(gw.port, "/public/a%2Fb", "pub /public/a/b");
    await assertServed(gw.port, "/public/a%5cb", "pub /public/a/b");
    await assertServed(gw.port, "/public/a\\b", "pub /public/a/b");
    await assertServed(gw.port, "/public/..%2fadmin", "adm /admin");
    await assertServed(gw.port, "/public/%2e%2e%2Fadmin", "adm /admin");
    await assertServed(gw.port, "/public\\..\\admin", "adm /admin");
  });
});

describe("paths with encodedSlashes: keep", () => {
  let ups: Upstreams;
  let gw: RunningGateway;

  before(async () => {
    ups = await startUpstreams();
    gw = await startPathGateway(ups, { encodedSlashes: "keep" });
  });
  after(async () => {
    await gw?.stop();
    await closeUpstreams(ups);
  });

  it("routes and forwards %2F and %5C encoded, in upper case", async () => {
    await assertServed(gw.port, "/public/a%2fb", "pub /public/a%2Fb");
    await assertServed(gw.port, "/public/a%5Cb", "pub /public/a%5Cb");
    await assertServed(gw.port, "/public/a\\b", "pub /public/a%5Cb");
    await assertServed(gw.port, "/public/a..%2F..b", "pub /public/a..%2F..b");
  });

  it("refuses a kept %2F or %5C that hides a dot segment", async () => {
    // One segment under /public here, but `../admin` to an upstream that decodes the slash.
    await assertBadPath(gw.port, "/public/..%2Fadmin");
    await assertBadPath(gw.port, "/public/x%5C..");
  });

  it("still removes real dot segments around encoded slashes", async () => {
    await assertServed(gw.port, "/public/a%2Fb/../c", "pub /public/c");
    await assertServed(gw.port, "/public/%2e%2e/admin%2Fx", "rest /admin%2Fx");
  });
});

describe("paths with mergeSlashes: true", () => {
  let ups: Upstreams;
  let gw: RunningGateway;

  before(async () => {
    ups = await startUpstreams();
    gw = await startPathGateway(ups, { mergeSlashes: true });
  });
  after(async () => {
    await gw?.stop();
    await closeUpstreams(ups);
  });

  it("collapses repeated slashes before routing", async () => {
    await assertServed(gw.port, "//public//x", "pub /public/x");
    await assertServed(gw.port, "/public///x//", "pub /public/x/");
    await assertServed(gw.port, "//admin", "adm /admin");
    await assertServed(gw.port, "//", "rest /");
  });

  it("collapses them before removing dot segments", async () => {
    await assertServed(gw.port, "/public//../admin", "adm /admin");
    await assertServed(gw.port, "/public/x//..//y", "pub /public/y");
  });
});
