/**
 * @module bench/plugin-cases
 * The requests the plugin micro-benchmark sends through each built-in plugin: a config as a
 * user would write it and a request that the plugin lets through.
 */
import { createHash } from "node:crypto";
import type { ConsumerConfig, StoresConfig } from "../src/config/schema.ts";
import type { ConsumerIdentity } from "../src/pipeline/context.ts";

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
}

const origin = "https://app.example.com";
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

const alice: ConsumerConfig = {
  name: "alice",
  groups: ["admins"],
  metadata: {},
  credentials: { keys: [`sha256:${sha256("alice-key-123")}`], basic: [] },
  plugins: [],
};

/** Cases that need nothing running. */
export function localCases(): PluginCase[] {
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
      label: "acl",
      plugin: "acl",
      config: { allow: ["admins"] },
      headers: {},
      consumer: { name: "alice", groups: ["admins"] },
    },
    {
      label: "concurrency-limit",
      plugin: "concurrency-limit",
      config: { limit: 100 },
      headers: {},
    },
  ];
}
