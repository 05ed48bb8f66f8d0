// Which request headers a config reserves for its authentication plugins.
import assert from "node:assert/strict";
import { it } from "node:test";
import { createPluginRegistry } from "../plugins/index.ts";
import { parseGatewayConfig } from "../runtime/validate.ts";
import { identityHeadersOf } from "./identity-headers.ts";

const jwt = (claimsToHeaders: Record<string, string>) => ({
  name: "jwt",
  config: { secret: "x".repeat(32), algorithms: ["HS256"], claimsToHeaders },
});

it("collects the claimsToHeaders of jwt wherever it is configured, lower-cased, once each", () => {
  const config = parseGatewayConfig(
    JSON.stringify({
      gateway: { listen: [{ port: 0 }] },
      plugins: [jwt({ user_id: "X-User-Id" })],
      services: [
        {
          name: "a",
          targets: [{ url: "http://127.0.0.1:1" }],
          plugins: [jwt({ sub: "x-user-id" })],
        },
      ],
      routes: [
        { name: "r", match: { paths: ["/r"] }, service: "a", plugins: [jwt({ email: "X-Email" })] },
        { name: "open", match: { paths: ["/open"] }, service: "a" },
      ],
    }),
    "identity.yaml",
    {},
  );
  assert.deepEqual(identityHeadersOf(config, createPluginRegistry()).sort(), [
    "x-email",
    "x-user-id",
  ]);
});

it("is empty without a plugin that sets identity headers", () => {
  const config = parseGatewayConfig(
    JSON.stringify({
      gateway: { listen: [{ port: 0 }] },
      services: [{ name: "a", targets: [{ url: "http://127.0.0.1:1" }] }],
      routes: [{ name: "r", match: { paths: ["/r"] }, service: "a" }],
    }),
    "identity.yaml",
    {},
  );
  assert.deepEqual(identityHeadersOf(config, createPluginRegistry()), []);
});
