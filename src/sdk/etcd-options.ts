/**
 * @module sdk/etcd-options
 * The SDK's `etcd` option: how `register()` and `serviceClient()` reach the etcd that the
 * gateway's etcd registry store uses, with no gateway in the path. It has the shape of
 * `gateway.registry.etcd` in the config file (validated by the same schema), so the same
 * block, with the same `prefix`, names the same instances.
 */
import { z } from "zod";
import { etcdConnectionSchema } from "../config/schema/control-plane.ts";
import { durationText } from "../config/schema/fields.ts";
import { parseDuration } from "../config/units.ts";
import type { EtcdConnection } from "../providers/etcd-store.ts";

/** How to reach etcd: the fields of `gateway.registry.etcd` (durations also as milliseconds). */
export interface EtcdOptions {
  /** etcd members, e.g. `["http://10.0.0.5:2379"]`; any one of them will do. */
  endpoints: string[];
  /**
   * The gateway's registry prefix (`gateway.registry.etcd.prefix`, or its config store's):
   * instances live under `<prefix>registry/`. Default `/gatehouse/`, as the gateway's.
   */
  prefix?: string;
  /** etcd user and password. */
  auth?: { username: string; password: string };
  /** TLS to etcd (with `https://` endpoints): PEM file paths. */
  tls?: { ca?: string; cert?: string; key?: string };
  /** How long one etcd request may take (`"2s"`, or milliseconds); default 2s. */
  timeout?: string | number;
  /**
   * For a service client: how long a down instance stays before it is removed from etcd
   * (every follower of the registry removes it then, the first one does). Give it the
   * gateway's `gateway.registry.removeAfter`; default 1m, the gateway's default.
   */
  removeAfter?: string | number;
}

/** The connection the registry's etcd store takes, and `removeAfter` in milliseconds. */
export interface EtcdSettings {
  connection: EtcdConnection;
  removeAfter: number;
}

const asText = (value: unknown) => (typeof value === "number" ? `${value}ms` : value);

const optionsSchema = etcdConnectionSchema.extend({
  timeout: z.preprocess(asText, etcdConnectionSchema.shape.timeout),
  removeAfter: z.preprocess(asText, durationText.default("1m")),
});

/** `options` checked and completed; throws a TypeError listing each problem. */
export function etcdSettings(options: EtcdOptions, caller: string): EtcdSettings {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const at = ["etcd", ...issue.path].join(".");
      // etcd3's own name for them: the config file's is `endpoints`.
      if (issue.code === "unrecognized_keys" && issue.keys.includes("hosts")) {
        return `${at}: unknown key "hosts": the etcd members go in endpoints`;
      }
      return `${at}: ${issue.message}`;
    });
    throw new TypeError(`${caller}: ${problems.join("; ")}`);
  }
  const { removeAfter, ...connection } = parsed.data;
  return { connection, removeAfter: parseDuration(removeAfter)! };
}
