// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the documents hold literal ${env:…} references
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redactConfig, restoreRedacted } from "./redact-config.ts";

const document = {
  gateway: {
    admin: { port: 0, keys: [{ id: "ops", key: "ops-key-0123456789abcdef" }] },
    stores: { redis: { url: "redis://app:hunter2hunter2@127.0.0.1:6379/0" } },
    tracing: { headers: { "x-team": "collector-key-1" } },
  },
  consumers: [
    {
      name: "alice",
      credentials: {
        keys: ["alice-key-0001", "${env:ALICE_KEY}"],
        basic: [{ username: "alice", password: "$scrypt$abc" }],
      },
    },
  ],
  routes: [{ name: "r", plugins: [{ name: "jwt", config: { secret: "hs256-secret-value" } }] }],
};

describe("redactConfig", () => {
  it("blanks credentials, URL passwords and collector headers, keeps references and names", () => {
    const shown = redactConfig(document);
    const text = JSON.stringify(shown);
    for (const secret of [
      "ops-key-0123",
      "hunter2",
      "collector-key-1",
      "alice-key-0001",
      "$scrypt$abc",
      "hs256-secret",
    ])
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    assert.deepEqual(shown.consumers[0]!.credentials.keys, ["[redacted]", "${env:ALICE_KEY}"]);
    assert.equal(shown.consumers[0]!.credentials.basic[0]!.username, "alice");
    assert.equal(shown.gateway.stores.redis.url, "redis://app:[redacted]@127.0.0.1:6379/0");
    assert.equal(shown.gateway.admin.keys[0]!.id, "ops");
  });

  it("puts the secrets back where an edited copy still has the placeholder", () => {
    const edited = structuredClone(redactConfig(document)) as typeof document;
    edited.routes.unshift({ name: "new", plugins: [] });
    edited.consumers[0]!.credentials.keys.push("bob-key-00000001");
    const restored = restoreRedacted(edited, document);
    assert.deepEqual(restored.consumers, [
      {
        name: "alice",
        credentials: {
          keys: ["alice-key-0001", "${env:ALICE_KEY}", "bob-key-00000001"],
          basic: [{ username: "alice", password: "$scrypt$abc" }],
        },
      },
    ]);
    assert.deepEqual(restored.routes[1], document.routes[0]);
    assert.equal(restored.gateway.stores.redis.url, document.gateway.stores.redis.url);
  });

  it("blanks keys named like credentials, and credentials in URLs, under any name", () => {
    const written = {
      services: [
        {
          name: "s",
          targets: [
            {
              url: "http://10.0.0.5:80",
              metadata: { apiToken: "t-1", db_password: "p-1", zone: "a" },
            },
          ],
        },
      ],
      routes: [
        {
          name: "r",
          plugins: [
            {
              name: "oauth2-introspection",
              config: {
                introspectionUrl: "https://auth.example/introspect?api_key=k-1&v=2",
                tokenTypeHint: "access_token",
              },
            },
          ],
        },
      ],
    };
    const shown = redactConfig(written);
    assert.deepEqual(shown.services[0]!.targets[0]!.metadata, {
      apiToken: "[redacted]",
      db_password: "[redacted]",
      zone: "a",
    });
    assert.deepEqual(shown.routes[0]!.plugins[0]!.config, {
      introspectionUrl: "https://auth.example/introspect?api_key=[redacted]&v=2",
      tokenTypeHint: "access_token",
    });
    // Sent back as shown, each is put back.
    assert.deepEqual(restoreRedacted(structuredClone(shown), written), written);
  });

  it("puts a URL's credentials back when another part of the URL was edited", () => {
    const written = {
      gateway: { stores: { redis: { url: "redis://app:pw-1@redis-a:6379" } } },
      plugins: [
        {
          name: "oauth2-introspection",
          config: { introspectionUrl: "https://auth.example/i?api_key=k-1&v=1&token=t-1" },
        },
      ],
    };
    const edited = structuredClone(redactConfig(written));
    edited.gateway.stores.redis.url = edited.gateway.stores.redis.url.replace("-a", "-b");
    const config = edited.plugins[0]!.config;
    config.introspectionUrl = config.introspectionUrl.replace("v=1", "v=2");
    const restored = restoreRedacted(edited, written);
    assert.equal(restored.gateway.stores.redis.url, "redis://app:pw-1@redis-b:6379");
    assert.equal(
      restored.plugins[0]!.config.introspectionUrl,
      "https://auth.example/i?api_key=k-1&v=2&token=t-1",
    );
  });

  it("leaves a placeholder with nothing behind it for validation to refuse", () => {
    const restored = restoreRedacted(
      { consumers: [{ name: "carol", credentials: { keys: ["[redacted]"] } }] },
      document,
    );
    assert.deepEqual(restored.consumers[0]!.credentials.keys, ["[redacted]"]);
  });
});
