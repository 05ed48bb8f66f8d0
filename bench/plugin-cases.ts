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
  /**
   * The plugin answers the request itself once primed (a cache hit): the first request
   * goes through with `responseHeaders` and a small body, the measured ones are answered.
   */
  answers?: boolean;
  /** The upstream's response headers the onResponse hooks see (default: a JSON type). */
  responseHeaders?: string[];
}

const origin = "https://app.example.com";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Far above what one process can send: every request is admitted and does the full work. */
const unreachedLimit = { limit: 1_000_000, window: "1s" };

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
      answers: true,
      responseHeaders: ["content-type", "application/json", "cache-control", "max-age=3600"],
    },
    {
      label: "cache (Redis on loopback, hit)",
      plugin: "cache",
      config: { store: "redis" },
      headers: { "accept-encoding": "gzip, br" },
      answers: true,
      responseHeaders: ["content-type", "application/json", "cache-control", "max-age=3600"],
      stores: { redis: { url: redisUrl, timeout: 1000, keyPrefix: "gatehouse-bench:" } },
      async: true,
    },
  ];
}
