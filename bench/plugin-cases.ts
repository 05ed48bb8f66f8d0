/**
 * @module bench/plugin-cases
 * The requests the plugin micro-benchmark sends through each built-in plugin: a config as a
 * user would write it and a request that the plugin lets through.
 */
import { createHash, generateKeyPairSync } from "node:crypto";
import { SignJWT } from "jose";
import type { ConsumerConfig, StoresConfig } from "../src/config/schema/index.ts";
import type { ConsumerIdentity } from "../src/pipeline/context.ts";
import { hashPassword } from "../src/plugins/basic-auth/password-hash.ts";
import { reportBody } from "./nginx.ts";

export interface PluginCase {
  label: string;
  plugin: string;
  config: Record<string, unknown>;
  headers: Record<string, string>;
  consumers?: ConsumerConfig[];
  /** A consumer already named by an earlier plugin (for acl, authorize, limits by consumer). */
  consumer?: ConsumerIdentity;
  stores?: StoresConfig;
  /** Whether the plugin waits on something (a store): fewer requests per batch. */
  async?: boolean;
  /** The request's method (default GET), query (without `?`) and body, when the case needs them. */
  method?: string;
  query?: string;
  body?: string;
  /**
   * Whether the plugin answers the measured requests itself: `true` from the first (mock),
   * `"once-primed"` after a first one went through with `response` and filled it (a cache hit).
   */
  answers?: true | "once-primed";
  /**
   * The upstream response the onResponse hook sees (default: a JSON head, no body). A body
   * is sent through the transforms the plugin asks for, and counted in its cost.
   */
  response?: { headers: string[]; body?: Buffer };
}

/** An OpenAPI 3.1 document for the request-validation rows: the bench's path, a JSON body. */
const itemsApi = {
  openapi: "3.1.0",
  info: { title: "bench", version: "1" },
  paths: {
    "/svc7/items/{id}": {
      parameters: [{ name: "id", in: "path", required: true, schema: { type: "integer" } }],
      get: {
        parameters: [
          { name: "fields", in: "query", schema: { type: "array", items: { type: "string" } } },
          { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100 } },
        ],
        responses: { "200": { description: "the item" } },
      },
      put: {
        requestBody: {
          required: true,
          content: { "application/json": { schema: { $ref: "#/components/schemas/Item" } } },
        },
        responses: { "200": { description: "replaced" } },
      },
    },
  },
  components: {
    schemas: {
      Item: {
        type: "object",
        required: ["name", "price"],
        properties: {
          name: { type: "string", maxLength: 100 },
          price: { type: "number", minimum: 0 },
          tags: { type: "array", items: { type: "string" } },
          note: { type: ["string", "null"] },
        },
      },
    },
  },
};
const browser =
  "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36";

/** An ordinary support ticket of about 1 KB, for the threat-protection rows. */
const ticketBody = JSON.stringify({
  subject: "Can't select a plan from the drop-down",
  customer: { name: "Siobhán O'Brien", email: "siobhan@example.com", tier: "pro" },
  message:
    "Hi team, I'd like to upgrade but the plan drop-down is empty on Safari 17. It's fine in Firefox. Steps: open Settings > Billing, click 'Change plan'. Screenshot attached (shot-01.png). Thanks!",
  tags: ["billing", "ui", "safari"],
  attachments: [
    { name: "shot-01.png", url: "https://cdn.example.com/u/123/shot-01.png", size: 48213 },
  ],
  history: Array.from({ length: 6 }, (_, i) => ({
    at: `2024-03-0${i + 1}T10:00:00Z`,
    by: "agent",
    note: "Checked the account; waiting on the customer.",
  })),
});

const itemBody = JSON.stringify({
  name: "kettle",
  price: 24.5,
  tags: ["kitchen", "steel"],
  note: null,
});

const origin = "https://app.example.com";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Far above what one process can send: every request is admitted and does the full work. */
const unreachedLimit = { limit: 1_000_000, window: "1s" };

/** The 10 KB JSON answer the compression rows compress, as the upstream sends it. */
const report = {
  headers: ["content-type", "application/json", "content-length", String(reportBody.length)],
  body: Buffer.from(reportBody),
};

/** A small JSON answer the upstream says may be cached for an hour, for the cache rows. */
const cachedItem = {
  headers: ["content-type", "application/json", "cache-control", "max-age=3600"],
  body: Buffer.from('{"id":42,"name":"item"}'),
};

/** Every case; the Redis one uses the Redis at `redisUrl`. */
export async function pluginCases(redisUrl: string): Promise<PluginCase[]> {
  const alice: ConsumerConfig = {
    name: "alice",
    groups: ["admins"],
    metadata: {},
    credentials: {
      keys: [`sha256:${sha256("alice-key-123")}`],
      basic: [{ username: "alice", password: await hashPassword("alice-password", "scrypt") }],
      certificates: [],
    },
    plugins: [],
  };
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const token = await new SignJWT({ sub: "alice", scope: "orders:read" })
    .setProtectedHeader({ alg: "RS256" })
    .setIssuer("https://issuer.example.com")
    .setIssuedAt()
    .setExpirationTime("1d")
    .sign(rsa.privateKey);
  const jwt = (tokenCache: number): Record<string, unknown> => ({
    publicKey: rsa.publicKey.export({ type: "spki", format: "pem" }).toString(),
    algorithms: ["RS256"],
    issuer: "https://issuer.example.com",
    consumerClaim: "sub",
    tokenCache,
  });
  const basic = `Basic ${Buffer.from("alice:alice-password").toString("base64")}`;
  return [
    {
      label: "security-headers",
      plugin: "security-headers",
      config: {},
      headers: {},
    },
    {
      label: "request-size-limit",
      plugin: "request-size-limit",
      config: { maxBodySize: "1mb" },
      headers: { "content-length": "100" },
    },
    {
      label: "ip-restriction (3 CIDRs)",
      plugin: "ip-restriction",
      config: { allow: ["10.0.0.0/8", "192.168.0.0/16", "127.0.0.0/8"] },
      headers: {},
    },
    {
      label: "cors (actual request)",
      plugin: "cors",
      config: { origins: [origin, "https://*.example.org"] },
      headers: { origin },
    },
    {
      label: "key-auth",
      plugin: "key-auth",
      config: {},
      headers: { "x-api-key": "alice-key-123" },
      consumers: [alice],
    },
    {
      label: "basic-auth (scrypt, verified once then cached)",
      plugin: "basic-auth",
      config: {},
      headers: { authorization: basic },
      consumers: [alice],
      async: true,
    },
    {
      label: "jwt RS256 (token cache hit)",
      plugin: "jwt",
      config: jwt(1000),
      headers: { authorization: `Bearer ${token}` },
      consumers: [alice],
      async: true,
    },
    {
      label: "jwt RS256 (tokenCache: 0, verified every time)",
      plugin: "jwt",
      config: jwt(0),
      headers: { authorization: `Bearer ${token}` },
      consumers: [alice],
      async: true,
    },
    {
      label: "acl",
      plugin: "acl",
      config: { allow: ["admins"] },
      headers: {},
      consumer: { name: "alice", groups: ["admins"] },
    },
    {
      label: "authorize (3 rules)",
      plugin: "authorize",
      config: {
        rules: [
          { methods: ["DELETE"], allow: false },
          { paths: ["/admin/*"], groups: ["admins"] },
          { paths: ["/svc7/items/:id"], consumers: ["alice"] },
        ],
      },
      headers: {},
      consumer: { name: "alice", groups: ["admins"] },
    },
    {
      label: "concurrency-limit",
      plugin: "concurrency-limit",
      config: { limit: 100 },
      headers: {},
    },
    {
      label: "rate-limit (memory, sliding window)",
      plugin: "rate-limit",
      config: unreachedLimit,
      headers: {},
    },
    {
      label: "rate-limit (memory, token bucket)",
      plugin: "rate-limit",
      config: { ...unreachedLimit, algorithm: "token-bucket" },
      headers: {},
    },
    {
      label: "request-validation (GET: path + 2 query parameters)",
      plugin: "request-validation",
      config: { spec: itemsApi },
      headers: {},
      query: "fields=name&fields=price&limit=10",
    },
    {
      label: "request-validation (PUT: 90-byte JSON body read and checked)",
      plugin: "request-validation",
      config: { spec: itemsApi },
      method: "PUT",
      headers: { "content-type": "application/json", "content-length": String(itemBody.length) },
      body: itemBody,
      async: true,
    },
    {
      label: "request-transformer (5 header edits, 2 query edits, templated)",
      plugin: "request-transformer",
      config: {
        headers: {
          remove: ["x-debug"],
          rename: { "x-old": "x-new" },
          set: { "x-team": "payments", "x-user": "$(consumer.name)", "x-item": "$(path.id)" },
        },
        query: { set: { source: "gateway" }, add: { page: "1" } },
      },
      headers: { "x-old": "value", "x-debug": "1" },
      consumer: { name: "alice", groups: ["admins"] },
    },
    {
      label: "response-transformer (4 header edits, status map)",
      plugin: "response-transformer",
      config: {
        headers: {
          remove: ["server"],
          set: { "cache-control": "no-store", "x-request": "$(request.id)" },
          add: { "x-served-by": "gatehouse" },
        },
        status: { 404: 200 },
      },
      headers: {},
    },
    {
      label: "response-transformer (JSON body edits set up; body not run)",
      plugin: "response-transformer",
      config: { body: { remove: ["secret"], set: { "meta.by": "gatehouse" } } },
      headers: {},
    },
    {
      label: "mock (JSON answer)",
      plugin: "mock",
      config: { status: 503, body: { message: "maintenance" } },
      headers: {},
      answers: true,
    },
    {
      label: "threat-protection (defaults: path, 2 query arguments, 2 headers checked)",
      plugin: "threat-protection",
      config: {},
      headers: { "user-agent": browser, referer: "https://app.example.com/search?q=tea" },
      query: "q=select%20a%20plan&page=2",
    },
    {
      label: "threat-protection (defaults: 1 KB JSON body scanned, its strings checked)",
      plugin: "threat-protection",
      config: {},
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(ticketBody.length) },
      body: ticketBody,
      async: true,
    },
    {
      label: "threat-protection (patterns off: 1 KB JSON body, limits only)",
      plugin: "threat-protection",
      config: { patterns: false },
      method: "POST",
      headers: { "content-type": "application/json", "content-length": String(ticketBody.length) },
      body: ticketBody,
      async: true,
    },
    {
      label: "rate-limit (Redis on loopback, token bucket)",
      plugin: "rate-limit",
      config: { ...unreachedLimit, algorithm: "token-bucket", store: "redis" },
      headers: {},
      stores: { redis: { url: redisUrl, timeout: 1000, keyPrefix: "gatehouse-bench:" } },
      async: true,
    },
    {
      label: "rate-limit (Redis on loopback, sliding window)",
      plugin: "rate-limit",
      config: { ...unreachedLimit, store: "redis" },
      headers: {},
      stores: { redis: { url: redisUrl, timeout: 1000, keyPrefix: "gatehouse-bench:" } },
      async: true,
    },
    {
      label: "cache (memory, hit)",
      plugin: "cache",
      config: {},
      headers: { "accept-encoding": "gzip, br" },
      answers: "once-primed",
      response: cachedItem,
    },
    {
      label: "cache (Redis on loopback, hit)",
      plugin: "cache",
      config: { store: "redis" },
      headers: { "accept-encoding": "gzip, br" },
      answers: "once-primed",
      response: cachedItem,
      stores: { redis: { url: redisUrl, timeout: 1000, keyPrefix: "gatehouse-bench:" } },
      async: true,
    },
    {
      label: "compression (client without Accept-Encoding: passes)",
      plugin: "compression",
      config: {},
      headers: {},
      response: { headers: report.headers },
    },
    {
      label: "compression (gzip 1 of a 10 KB JSON)",
      plugin: "compression",
      config: {},
      headers: { "accept-encoding": "gzip" },
      response: report,
      async: true,
    },
    {
      label: "compression (br 4 of a 10 KB JSON)",
      plugin: "compression",
      config: {},
      headers: { "accept-encoding": "br" },
      response: report,
      async: true,
    },
    {
      label: "compression (zstd 3 of a 10 KB JSON)",
      plugin: "compression",
      config: {},
      headers: { "accept-encoding": "gzip, deflate, br, zstd" },
      response: report,
      async: true,
    },
  ];
}
