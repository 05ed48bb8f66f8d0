// Unit tests for the compiled route table: precedence, hosts, matchers, 405, scale.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type RouteDefinition, RouteDefinitionError, RouteTable } from "./route-table.ts";

type Def = Omit<RouteDefinition<string>, "priority"> & { priority?: number };

function table(definitions: Def[]): RouteTable<string> {
  return new RouteTable(definitions.map((d) => ({ priority: 0, ...d })));
}

interface Request {
  method?: string;
  host?: string;
  headers?: Record<string, string | string[]>;
  query?: string;
  version?: string;
}

/** The name of the route a request goes to, `404`, or `405 <Allow>`. */
function route(routes: RouteTable<string>, path: string, request: Request = {}): string {
  const match = routes.match(
    request.method ?? "GET",
    request.host ?? "any.test",
    path,
    request.headers ?? {},
    request.query ?? "",
    request.version,
  );
  if (match.kind === "route") return match.value;
  if (match.kind === "not-found") return "404";
  if (match.kind === "version-not-found") return `404 versions ${match.versions.join(",")}`;
  return `405 ${match.allow}`;
}

/** Every order of a small list, so precedence cannot depend on definition order. */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe("RouteTable path precedence", () => {
  it("prefers static over parameter over wildcard, whatever the definition order", () => {
    const defs: Def[] = [
      { value: "wild", paths: ["/u/*"] },
      { value: "param", paths: ["/u/:id"] },
      { value: "static", paths: ["/u/me"] },
    ];
    for (const order of permutations(defs)) {
      const routes = table(order);
      assert.equal(route(routes, "/u/me"), "static");
      assert.equal(route(routes, "/u/7"), "param");
      assert.equal(route(routes, "/u/7/x"), "wild");
      assert.equal(route(routes, "/u/"), "wild");
      assert.equal(route(routes, "/u"), "404");
    }
  });

  it("decides segment by segment, from the left", () => {
    const defs: Def[] = [
      { value: "a-x-c", paths: ["/a/:x/c"] },
      { value: "a-b-wild", paths: ["/a/b/*"] },
      { value: "x-b-c", paths: ["/:x/b/c"] },
      { value: "root", paths: ["/*"] },
    ];
    for (const order of permutations(defs)) {
      const routes = table(order);
      assert.equal(route(routes, "/a/b/c"), "a-b-wild");
      assert.equal(route(routes, "/a/z/c"), "a-x-c");
      assert.equal(route(routes, "/z/b/c"), "x-b-c");
      assert.equal(route(routes, "/z/b/d"), "root");
    }
  });

  it("matches the root, trailing slashes and exact paths exactly", () => {
    const routes = table([
      { value: "root", paths: ["/"] },
      { value: "a", paths: ["/a"] },
      { value: "a-slash", paths: ["/a/"] },
    ]);
    assert.equal(route(routes, "/"), "root");
    assert.equal(route(routes, "/a"), "a");
    assert.equal(route(routes, "/a/"), "a-slash");
    assert.equal(route(routes, "/a/b"), "404");
    assert.equal(route(routes, "/A"), "404");
  });

  it("lets explicit priority beat specificity, and specificity decide among equals", () => {
    const routes = table([
      { value: "exact", paths: ["/p/exact"] },
      { value: "wins", paths: ["/p/*"], priority: 10 },
      { value: "low-exact", paths: ["/q/exact"], priority: -1 },
      { value: "q-wild", paths: ["/q/*"] },
      { value: "r-param", paths: ["/r/:id"], priority: 5 },
      { value: "r-static", paths: ["/r/me"], priority: 5 },
    ]);
    assert.equal(route(routes, "/p/exact"), "wins");
    assert.equal(route(routes, "/p/other"), "wins");
    assert.equal(route(routes, "/q/exact"), "q-wild");
    assert.equal(route(routes, "/r/me"), "r-static");
    assert.equal(route(routes, "/r/7"), "r-param");
  });

  it("matches static paths holding a colon or an escape exactly, and falls back past them", () => {
    const routes = table([
      { value: "colon", paths: ["/at/12:30"] },
      { value: "escaped", paths: ["/files/café"] },
      { value: "param", paths: ["/at/:time"] },
      { value: "root", paths: ["/"] },
    ]);
    assert.equal(route(routes, "/at/12:30"), "colon");
    assert.equal(route(routes, "/at/12:31"), "param");
    assert.equal(route(routes, "/files/caf%C3%A9"), "escaped");
    assert.equal(route(routes, "/"), "root");
    assert.equal(routes.match("GET", "h", "/files/caf%C3%A8", {}, "").kind, "not-found");
  });

  it("takes the first defined of two identical routes", () => {
    const routes = table([
      { value: "first", paths: ["/same"] },
      { value: "second", paths: ["/same"] },
    ]);
    assert.equal(route(routes, "/same"), "first");
  });

  it("matches literals in their percent-encoded, normalised form", () => {
    const routes = table([
      { value: "cafe", paths: ["/café/:x"] },
      { value: "quote", paths: ['/a"b'] },
      { value: "colon", paths: ["/a:b/:id"] },
      { value: "root", paths: ["/*"] },
    ]);
    assert.equal(route(routes, "/caf%C3%A9/1"), "cafe");
    assert.equal(route(routes, "/a%22b"), "quote");
    assert.equal(route(routes, "/a:b/7"), "colon");
    assert.equal(route(routes, "/files/%FF"), "root");
    assert.equal(route(routes, "/caf%C3/1"), "root");
    assert.equal(route(routes, "/a%2Fb"), "root");
  });

  it("never matches a parameter to an empty segment", () => {
    const routes = table([
      { value: "user", paths: ["/u/:id"] },
      { value: "mid", paths: ["/a/:x/c"] },
    ]);
    assert.equal(route(routes, "/u/"), "404");
    assert.equal(route(routes, "/a//c"), "404");
    assert.equal(route(routes, "/u/1"), "user");
  });

  it("answers alike whether a key is alone under its first segment or shares it", () => {
    const shared = [
      { value: "svc", paths: ["/svc/:id"] },
      { value: "pair", paths: ["/:a/:b"] },
      { value: "rest", paths: ["/*"] },
    ];
    const lone = table(shared);
    const beside = table([...shared, { value: "deep", paths: ["/svc/x/:y"] }]);
    const expected: Record<string, string> = {
      "/svc/1": "svc",
      "/svc/": "rest",
      "/svc/1/2": "rest",
      "/svcx/1": "pair",
      "/svc": "rest",
    };
    for (const [path, name] of Object.entries(expected)) {
      assert.equal(route(lone, path), name, path);
      assert.equal(route(beside, path), name, path);
    }
    assert.equal(route(beside, "/svc/x/2"), "deep");
  });

  it("gives a parameter a whole segment, encoded slashes included", () => {
    const routes = table([
      { value: "user", paths: ["/users/:id"] },
      { value: "root", paths: ["/*"] },
    ]);
    assert.equal(route(routes, "/users/a%2Fb"), "user");
    assert.equal(route(routes, "/users/a/b"), "root");
  });
});

describe("RouteTable hosts", () => {
  const defs: Def[] = [
    { value: "any", paths: ["/*"] },
    { value: "wild", hosts: ["*.example.com"], paths: ["/*"] },
    { value: "deep-wild", hosts: ["*.b.example.com"], paths: ["/*"] },
    { value: "exact", hosts: ["Shop.Example.COM"], paths: ["/*"] },
    { value: "only-host", hosts: ["api.test"], paths: ["/v1/*"] },
  ];

  it("prefers an exact host over a wildcard host over no host", () => {
    for (const order of permutations(defs)) {
      const routes = table(order);
      assert.equal(route(routes, "/x", { host: "shop.example.com" }), "exact");
      assert.equal(route(routes, "/x", { host: "blog.example.com" }), "wild");
      assert.equal(route(routes, "/x", { host: "a.b.example.com" }), "deep-wild");
      assert.equal(route(routes, "/x", { host: "x.y.example.com" }), "wild");
      assert.equal(route(routes, "/x", { host: "example.com" }), "any");
      assert.equal(route(routes, "/x", { host: "other.test" }), "any");
    }
  });

  it("serves a host's paths from its own routes, then from routes for any host", () => {
    const routes = table(defs);
    assert.equal(route(routes, "/v1/x", { host: "api.test" }), "only-host");
    assert.equal(route(routes, "/v2/x", { host: "api.test" }), "any");
    assert.equal(route(routes, "/v1/x", { host: "other.test" }), "any");
    assert.equal(
      route(table([{ value: "h", hosts: ["h.test"], paths: ["/*"] }]), "/x", { host: "i.test" }),
      "404",
    );
  });

  it("lets a route for the host beat a more specific route for any host", () => {
    const routes = table([
      { value: "any-specific", paths: ["/api/users/:id"] },
      { value: "shop", hosts: ["shop.example.com"], paths: ["/*"] },
      { value: "wild", hosts: ["*.example.com"], paths: ["/api/*"] },
    ]);
    assert.equal(route(routes, "/api/users/7", { host: "shop.example.com" }), "shop");
    assert.equal(route(routes, "/api/users/7", { host: "blog.example.com" }), "wild");
    assert.equal(route(routes, "/api/users/7", { host: "other.test" }), "any-specific");
  });

  it("knows which hosts it serves", () => {
    const routes = table(defs);
    assert.equal(routes.servesHost("shop.example.com"), true);
    assert.equal(routes.servesHost("a.example.com"), true);
    assert.equal(routes.servesHost("api.test"), true);
    assert.equal(routes.servesHost("example.com"), false);
    assert.equal(routes.servesHost("other.test"), false);
  });

  it("refuses a host that is not a host name or *.wildcard", () => {
    for (const host of ["a b", "*", "a.*.com", "http://x", "x:80", "-a.com", "*example.com"]) {
      assert.throws(
        () => table([{ value: "r", hosts: ["ok.test", host], paths: ["/"] }]),
        (error: unknown) =>
          error instanceof RouteDefinitionError &&
          error.field === "hosts" &&
          error.itemIndex === 1 &&
          error.routeIndex === 0,
        host,
      );
    }
  });
});

describe("RouteTable matchers", () => {
  it("prefers the route whose header or query matchers match, and falls back when they fail", () => {
    const routes = table([
      { value: "plain", paths: ["/f"] },
      { value: "beta", paths: ["/f"], headers: { "X-Beta": "1" } },
      { value: "v2", paths: ["/f"], query: { v: { regex: "^2" } } },
    ]);
    assert.equal(route(routes, "/f"), "plain");
    assert.equal(route(routes, "/f", { headers: { "x-beta": "1" } }), "beta");
    assert.equal(route(routes, "/f", { headers: { "x-beta": "2" } }), "plain");
    assert.equal(route(routes, "/f", { query: "v=2.1" }), "v2");
    assert.equal(route(routes, "/f", { query: "v=1" }), "plain");
    assert.equal(route(routes, "/f", { query: "w=2" }), "plain");
  });

  it("falls back to a less specific route when a specific one's matchers fail", () => {
    const routes = table([
      { value: "users", paths: ["/api/users/*"], methods: ["GET"], headers: { "x-v": "2" } },
      { value: "api", paths: ["/api/*"] },
    ]);
    assert.equal(route(routes, "/api/users/1", { headers: { "x-v": "2" } }), "users");
    assert.equal(route(routes, "/api/users/1"), "api");
    assert.equal(
      route(routes, "/api/users/1", { method: "DELETE", headers: { "x-v": "2" } }),
      "api",
    );
  });

  it("compares a repeated header as its joined value and a missing one as absent", () => {
    const routes = table([
      { value: "joined", paths: ["/h"], headers: { "x-a": "1, 2" } },
      { value: "regex", paths: ["/r"], headers: { "x-a": { regex: "^$|^x" } } },
    ]);
    assert.equal(route(routes, "/h", { headers: { "x-a": ["1", "2"] } }), "joined");
    assert.equal(route(routes, "/r"), "404");
    assert.equal(route(routes, "/r", { headers: { "x-a": "" } }), "regex");
  });

  it("reads query arguments decoded and by their first value", () => {
    const routes = table([{ value: "q", paths: ["/q"], query: { "a b": "c/d" } }]);
    assert.equal(route(routes, "/q", { query: "a+b=c%2Fd" }), "q");
    assert.equal(route(routes, "/q", { query: "a%20b=c/d&a%20b=x" }), "q");
    assert.equal(route(routes, "/q", { query: "a%20b=x&a%20b=c/d" }), "404");
  });

  it("refuses a bad regex, naming the route and matcher", () => {
    assert.throws(
      () =>
        table([
          { value: "ok", paths: ["/"] },
          { value: "bad", paths: ["/"], headers: { "x-a": { regex: "(" } } },
        ]),
      (error: unknown) =>
        error instanceof RouteDefinitionError &&
        error.routeIndex === 1 &&
        error.field === "headers" &&
        error.itemIndex === "x-a",
    );
  });

  it("refuses a bad path, naming the route and path", () => {
    assert.throws(
      () => table([{ value: "bad", paths: ["/ok", "no-slash"] }]),
      (error: unknown) =>
        error instanceof RouteDefinitionError &&
        error.routeIndex === 0 &&
        error.field === "paths" &&
        error.itemIndex === 1,
    );
  });
});

describe("RouteTable methods", () => {
  it("answers 405 with every method the matching routes allow, HEAD with GET", () => {
    const routes = table([
      { value: "get", paths: ["/items"], methods: ["GET"] },
      { value: "put", paths: ["/items"], methods: ["PUT", "PATCH"] },
      { value: "post-wild", paths: ["/*"], methods: ["POST"] },
    ]);
    assert.equal(route(routes, "/items", { method: "HEAD" }), "get");
    assert.equal(route(routes, "/items", { method: "PATCH" }), "put");
    assert.equal(route(routes, "/items", { method: "POST" }), "post-wild");
    const refused = route(routes, "/items", { method: "DELETE" });
    assert.match(refused, /^405 /);
    assert.deepEqual(
      refused.slice(4).split(", ").sort(),
      ["GET", "HEAD", "PATCH", "POST", "PUT"].sort(),
    );
  });

  it("serves a less specific route without a method list rather than answering 405", () => {
    const routes = table([
      { value: "get", paths: ["/items"], methods: ["GET"] },
      { value: "any", paths: ["/*"] },
    ]);
    assert.equal(route(routes, "/items", { method: "DELETE" }), "any");
  });

  it("leaves routes whose matchers failed out of Allow", () => {
    const routes = table([
      { value: "beta-put", paths: ["/m"], methods: ["PUT"], headers: { "x-beta": "1" } },
      { value: "get", paths: ["/m"], methods: ["GET"] },
    ]);
    assert.equal(route(routes, "/m", { method: "DELETE" }), "405 GET, HEAD");
    assert.equal(route(routes, "/m", { method: "PUT", headers: { "x-beta": "1" } }), "beta-put");
    assert.equal(route(routes, "/m", { method: "PUT" }), "405 GET, HEAD");
  });

  it("returns the same hit object for every match of a route", () => {
    const routes = table([{ value: "r", paths: ["/a/:id"] }]);
    const first = routes.match("GET", "h", "/a/1", {}, "");
    const second = routes.match("GET", "h", "/a/2", {}, "");
    assert.equal(first, second);
    assert.equal(first.kind === "route" && first.pattern.source, "/a/:id");
  });
});

describe("RouteTable at scale", () => {
  it("compiles 10,000 routes across many prefixes and matches each correctly", () => {
    const defs: Def[] = [];
    for (let i = 0; i < 2500; i++) {
      defs.push({ value: `static-${i}`, paths: [`/svc${i}/health`] });
      defs.push({ value: `param-${i}`, paths: [`/svc${i}/items/:id`], methods: ["GET"] });
      defs.push({ value: `wild-${i}`, paths: [`/svc${i}/*`] });
      defs.push({ value: `host-${i}`, hosts: [`t${i % 50}.example.com`], paths: [`/svc${i}/*`] });
    }
    const started = performance.now();
    const routes = table(defs);
    const compileMs = performance.now() - started;
    assert.ok(compileMs < 20_000, `compiled in ${compileMs.toFixed(0)} ms`);
    for (const i of [0, 1, 17, 999, 1234, 2499]) {
      assert.equal(route(routes, `/svc${i}/health`), `static-${i}`);
      assert.equal(route(routes, `/svc${i}/items/42`), `param-${i}`);
      assert.equal(route(routes, `/svc${i}/items/42`, { method: "POST" }), `wild-${i}`);
      assert.equal(route(routes, `/svc${i}/other/x`), `wild-${i}`);
      assert.equal(route(routes, `/svc${i}/x`, { host: `t${i % 50}.example.com` }), `host-${i}`);
      assert.equal(
        route(routes, `/svc${i}/x`, { host: `t${(i + 1) % 50}.example.com` }),
        `wild-${i}`,
      );
    }
    assert.equal(route(routes, "/svc2500/health"), "404");
  });

  it("compiles 10,000 routes under one shared prefix", () => {
    const defs: Def[] = [];
    for (let i = 0; i < 5000; i++) {
      defs.push({ value: `get-${i}`, paths: [`/api/r${i}/:id`], methods: ["GET"] });
      defs.push({ value: `all-${i}`, paths: [`/api/r${i}/*`] });
    }
    defs.push({ value: "api", paths: ["/api/*"] });
    const started = performance.now();
    const routes = table(defs);
    const compileMs = performance.now() - started;
    assert.ok(compileMs < 20_000, `compiled in ${compileMs.toFixed(0)} ms`);
    for (const i of [0, 7, 2500, 4999]) {
      assert.equal(route(routes, `/api/r${i}/1`), `get-${i}`);
      assert.equal(route(routes, `/api/r${i}/1`, { method: "PUT" }), `all-${i}`);
      assert.equal(route(routes, `/api/r${i}/1/2`), `all-${i}`);
    }
    assert.equal(route(routes, "/api/r5000/1"), "api");
  });

  it("compiles 10,000 routes for 5,000 distinct hosts beside 5,000 for any host", () => {
    const defs: Def[] = [];
    for (let i = 0; i < 5000; i++) {
      defs.push({ value: `host-${i}`, hosts: [`h${i}.example.com`], paths: ["/*"] });
      defs.push({ value: `any-${i}`, paths: [`/p${i}/*`] });
    }
    const started = performance.now();
    const routes = table(defs);
    const compileMs = performance.now() - started;
    assert.ok(compileMs < 20_000, `compiled in ${compileMs.toFixed(0)} ms`);
    for (const i of [0, 4999]) {
      assert.equal(route(routes, `/p${i}/x`, { host: `h${i}.example.com` }), `host-${i}`);
      assert.equal(route(routes, `/p${i}/x`), `any-${i}`);
      assert.equal(route(routes, "/nothing", { host: `h${i}.example.com` }), `host-${i}`);
    }
  });
});

describe("API versions", () => {
  const versioned = table([
    { value: "orders-v1", paths: ["/orders/*"], version: "1" },
    { value: "orders-v2", paths: ["/orders/*"], version: ["2", "2.1"] },
    { value: "health", paths: ["/health"] },
    { value: "legacy", paths: ["/legacy"], version: "1", methods: ["GET"] },
  ]);

  it("sends each version to its route, and any version to a route without one", () => {
    assert.equal(route(versioned, "/orders/1", { version: "1" }), "orders-v1");
    assert.equal(route(versioned, "/orders/1", { version: "2" }), "orders-v2");
    assert.equal(route(versioned, "/orders/1", { version: "2.1" }), "orders-v2");
    assert.equal(route(versioned, "/health", { version: "7" }), "health");
    assert.equal(route(versioned, "/health"), "health");
  });

  it("names the versions served when none serves the one asked for", () => {
    assert.equal(route(versioned, "/orders/1", { version: "3" }), "404 versions 1,2,2.1");
    assert.equal(route(versioned, "/orders/1"), "404 versions 1,2,2.1");
    assert.equal(route(versioned, "/nothing", { version: "1" }), "404");
  });

  it("lets a route with a version win over one without, and fall back to it", () => {
    const routes = table([
      { value: "any", paths: ["/a"] },
      { value: "two", paths: ["/a"], version: "2" },
    ]);
    assert.equal(route(routes, "/a", { version: "2" }), "two");
    assert.equal(route(routes, "/a", { version: "1" }), "any");
  });

  it("says 405 only for a method the version's route refuses", () => {
    assert.equal(route(versioned, "/legacy", { version: "1", method: "POST" }), "405 GET, HEAD");
    assert.equal(route(versioned, "/legacy", { version: "2", method: "POST" }), "404");
  });
});
