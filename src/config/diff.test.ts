// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the documents hold literal ${env:…} references
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ConfigDocument, diffConfigs, formatDiff } from "./diff.ts";
import { redactConfig } from "./redact-config.ts";

const base: ConfigDocument = {
  gateway: { listen: [{ host: "127.0.0.1", port: 8080 }] },
  services: [
    { name: "users", targets: [{ url: "http://127.0.0.1:9001", weight: 1 }] },
    { name: "orders", targets: [{ url: "http://127.0.0.1:9002" }] },
  ],
  routes: [
    {
      name: "users-api",
      match: { paths: ["/api/users", "/api/users/*"], methods: ["GET"] },
      service: "users",
      plugins: [
        { name: "rate-limit", config: { limit: 100, window: "1m" } },
        { name: "cors", config: { origins: ["*"] } },
      ],
    },
    { name: "orders-api", match: { paths: ["/api/orders"] }, service: "orders" },
  ],
  consumers: [{ name: "alice", credentials: { keys: ["${env:ALICE_KEY}"] } }],
  plugins: [{ name: "request-id" }],
};

/** The document as a test edits it: any path, unchecked. */
// biome-ignore lint/suspicious/noExplicitAny: a test reaches into the document freely
type Editable = any;

/** A deep copy of `base` changed by `edit`. */
function edited(edit: (document: Editable) => void): ConfigDocument {
  const copy = structuredClone(base);
  edit(copy);
  return copy;
}

describe("diffConfigs", () => {
  it("finds nothing between equal documents, and formats that as (no changes)", () => {
    const diff = diffConfigs(base, structuredClone(base));
    assert.deepEqual(diff, { resources: [], gateway: [] });
    assert.equal(formatDiff(diff), "(no changes)");
    assert.equal(formatDiff(diffConfigs({}, {})), "(no changes)");
  });

  it("reports created and deleted resources of every kind, with no fields", () => {
    const after = edited((d) => {
      d.services!.push({ name: "billing", targets: [] });
      d.routes!.splice(1, 1);
      d.consumers!.push({ name: "bob" });
      d.plugins = [];
    });
    assert.deepEqual(diffConfigs(base, after).resources, [
      { kind: "service", name: "billing", change: "created", fields: [] },
      { kind: "route", name: "orders-api", change: "deleted", fields: [] },
      { kind: "consumer", name: "bob", change: "created", fields: [] },
      { kind: "plugin", name: "request-id", change: "deleted", fields: [] },
    ]);
  });

  it("orders resources by kind, created/updated in the new order, then deleted in the old", () => {
    const before: ConfigDocument = {
      consumers: [{ name: "c1" }, { name: "c2", v: 1 }, { name: "c3" }],
      services: [{ name: "s1" }],
    };
    const after: ConfigDocument = {
      consumers: [{ name: "c4" }, { name: "c2", v: 2 }],
      services: [],
    };
    const summary = diffConfigs(before, after).resources.map(
      (r) => `${r.change} ${r.kind} ${r.name}`,
    );
    assert.deepEqual(summary, [
      "deleted service s1",
      "created consumer c4",
      "updated consumer c2",
      "deleted consumer c1",
      "deleted consumer c3",
    ]);
  });

  it("locates changed fields: maps by key, lists by index, named lists by name", () => {
    const after = edited((d) => {
      d.services![0].targets[0].url = "http://127.0.0.1:9011";
      d.services![0].targets.push({ url: "http://127.0.0.1:9012" });
      d.services![0].loadBalancer = { algorithm: "least-connections" };
      d.routes![0].match.paths[1] = "/api/people/*";
      d.routes![0].plugins.reverse(); // order of named items is not a change
      d.routes![0].plugins[1].config.limit = 200;
      d.routes![0].plugins[0].config = { origins: ["https://app.example"] };
      d.routes![0].plugins.push({ name: "key-auth" });
      delete d.routes![0].match.methods;
      d.consumers![0].credentials.keys.push("${env:ALICE_KEY_2}");
      d.plugins![0].config = { header: "x-request-id" };
    });
    assert.deepEqual(diffConfigs(base, after).resources, [
      {
        kind: "service",
        name: "users",
        change: "updated",
        fields: [
          {
            path: "targets[0].url",
            before: "http://127.0.0.1:9001",
            after: "http://127.0.0.1:9011",
          },
          { path: "targets[1]", after: { url: "http://127.0.0.1:9012" } },
          { path: "loadBalancer", after: { algorithm: "least-connections" } },
        ],
      },
      {
        kind: "route",
        name: "users-api",
        change: "updated",
        fields: [
          { path: "match.paths[1]", before: "/api/users/*", after: "/api/people/*" },
          { path: "match.methods", before: ["GET"] },
          { path: "plugins[cors].config.origins[0]", before: "*", after: "https://app.example" },
          { path: "plugins[rate-limit].config.limit", before: 100, after: 200 },
          { path: "plugins[key-auth]", after: { name: "key-auth" } },
        ],
      },
      {
        kind: "consumer",
        name: "alice",
        change: "updated",
        fields: [{ path: "credentials.keys[1]", after: "${env:ALICE_KEY_2}" }],
      },
      {
        kind: "plugin",
        name: "request-id",
        change: "updated",
        fields: [{ path: "config", after: { header: "x-request-id" } }],
      },
    ]);
  });

  it("reports a value that changes type as one change, and quotes keys that are not names", () => {
    const before = {
      services: [{ name: "s", timeouts: { connect: "1s" }, headers: { "x.y": "a" } }],
    };
    const after = { services: [{ name: "s", timeouts: "5s", headers: { "x.y": "b" } }] };
    assert.deepEqual(diffConfigs(before, after).resources[0]!.fields, [
      { path: "timeouts", before: { connect: "1s" }, after: "5s" },
      { path: 'headers["x.y"]', before: "a", after: "b" },
    ]);
  });

  it("reports a route moved among the others, since the first written wins a tie", () => {
    const three = { routes: [{ name: "a" }, { name: "b" }, { name: "c" }] };
    const moved = diffConfigs(three, { routes: [{ name: "c" }, { name: "a" }, { name: "b" }] });
    assert.deepEqual(moved.resources, [
      {
        kind: "route",
        name: "c",
        change: "updated",
        fields: [{ path: "(position)", before: 2, after: 0 }],
      },
    ]);
    // Inserting or deleting one shifts the rest, but moves none of them relative to the others.
    const inserted = diffConfigs(three, {
      routes: [{ name: "new" }, { name: "a" }, { name: "c" }],
    });
    assert.deepEqual(
      inserted.resources.map((r) => `${r.change} ${r.name} ${r.fields.length}`),
      ["created new 0", "deleted b 0"],
    );
  });

  it("ignores the order of services, consumers and global plugins", () => {
    const before = {
      services: [{ name: "a" }, { name: "b" }],
      plugins: [{ name: "p" }, { name: "q" }],
    };
    const after = {
      services: [{ name: "b" }, { name: "a" }],
      plugins: [{ name: "q" }, { name: "p" }],
    };
    assert.deepEqual(diffConfigs(before, after), { resources: [], gateway: [] });
  });

  it("lists changes to the static gateway section apart, including a section added", () => {
    const after = edited((d) => {
      d.gateway.listen[0].port = 8081;
      d.gateway.admin = { port: 9902 };
    });
    const diff = diffConfigs(base, after);
    assert.deepEqual(diff.resources, []);
    assert.deepEqual(diff.gateway, [
      { path: "listen[0].port", before: 8080, after: 8081 },
      { path: "admin", after: { port: 9902 } },
    ]);
    assert.deepEqual(diffConfigs({}, { gateway: { workers: 2 } }).gateway, [
      { path: "workers", after: 2 },
    ]);
  });

  it("keys an item without a name by its place", () => {
    const diff = diffConfigs({ routes: [{ service: "x" }] }, { routes: [{ service: "y" }] });
    assert.deepEqual(diff.resources, [
      {
        kind: "route",
        name: "[0]",
        change: "updated",
        fields: [{ path: "service", before: "x", after: "y" }],
      },
    ]);
  });
});

describe("diffConfigs with redact", () => {
  const before = {
    gateway: { admin: { keys: [{ id: "ops", key: "ops-key-0123456789ab" }] } },
    consumers: [{ name: "bob", credentials: { keys: ["bob-secret-key-1"] } }],
    services: [{ name: "s", targets: [{ url: "http://u:pw-one@127.0.0.1:1" }] }],
  };

  it("reports a secret changed under [redacted] without showing either value", () => {
    const after = structuredClone(before);
    after.consumers[0]!.credentials.keys[0] = "bob-secret-key-2";
    after.gateway.admin.keys[0]!.key = "ops-key-abcdefabcdef";
    after.services[0]!.targets[0]!.url = "http://u:pw-two@127.0.0.1:1";
    const diff = diffConfigs(before, after, { redact: redactConfig });
    const text = `${formatDiff(diff)}${JSON.stringify(diff)}`;
    for (const secret of ["bob-secret", "ops-key-", "pw-one", "pw-two"])
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    assert.deepEqual(diff.resources, [
      {
        kind: "service",
        name: "s",
        change: "updated",
        fields: [
          {
            path: "targets[0].url",
            before: "http://u:[redacted]@127.0.0.1:1",
            after: "http://u:[redacted]@127.0.0.1:1",
          },
        ],
      },
      {
        kind: "consumer",
        name: "bob",
        change: "updated",
        fields: [{ path: "credentials.keys[0]", before: "[redacted]", after: "[redacted]" }],
      },
    ]);
    assert.deepEqual(diff.gateway, [
      { path: "admin.keys[0].key", before: "[redacted]", after: "[redacted]" },
    ]);
  });

  it("finds nothing when the secrets are the same", () => {
    assert.deepEqual(diffConfigs(before, structuredClone(before), { redact: redactConfig }), {
      resources: [],
      gateway: [],
    });
  });
});

describe("formatDiff", () => {
  it("prints one block per resource, then the gateway section", () => {
    const after = edited((d) => {
      d.services!.push({ name: "billing" });
      d.routes![0].match.paths[1] = "/b";
      d.routes![0].timeout = "5s";
      delete d.routes![0].service;
      d.consumers = [];
      d.gateway.listen[0].port = 8081;
    });
    assert.equal(
      formatDiff(diffConfigs(base, after)),
      [
        "+ service billing",
        "~ route users-api",
        '    match.paths[1]: "/api/users/*" → "/b"',
        '    timeout: (none) → "5s"',
        '    service: "users" → (none)',
        "- consumer alice",
        "~ gateway (static: applied at the next restart)",
        "    listen[0].port: 8080 → 8081",
      ].join("\n"),
    );
  });

  it("shows what redactConfig left: references, never the secrets it blanked", () => {
    const before = { consumers: [{ name: "bob", credentials: { keys: ["bob-secret-key-1"] } }] };
    const after = {
      consumers: [{ name: "bob", credentials: { keys: ["bob-secret-key-2", "${env:BOB_KEY}"] } }],
    };
    const text = formatDiff(diffConfigs(redactConfig(before), redactConfig(after)));
    assert.equal(
      text,
      ["~ consumer bob", '    credentials.keys[1]: (none) → "${env:BOB_KEY}"'].join("\n"),
    );
  });
});
