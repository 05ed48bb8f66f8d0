/**
 * @module registry/instance
 * What a registration is: the body of `PUT /registry/services/{service}/instances/{id}`,
 * checked field by field against the registry's settings (TTL bounds, allowed networks)
 * into a Registration, or refused with every problem at once, so the store never holds a
 * half-checked instance. Also the JSON shapes the registry API answers with.
 */
import { BlockList, isIP } from "node:net";
import semver from "semver";
import { z } from "zod";
import { describeIssue } from "../config/messages.ts";
import { durationText } from "../config/schema/fields.ts";
import { registryNameHint, registryNamePattern } from "../config/schema/registry.ts";
import { pathLabel } from "../config/semantics.ts";
import { formatDuration, parseDuration } from "../config/units.ts";
import { GatehouseError } from "../errors.ts";

/** How an instance is spoken to: HTTP/1.1, or gRPC (HTTP/2). */
export type InstanceProtocol = "http" | "grpc";

/** A checked registration, as the store keeps it (times are the store's). */
export interface Registration {
  service: string;
  id: string;
  address: string;
  port: number;
  protocol: InstanceProtocol;
  ttlMs: number;
  weight: number;
  version?: string;
  zone?: string;
  tags: string[];
  metadata: Record<string, string>;
  healthCheck?: { path: string; intervalMs?: number };
}

/** `up` takes traffic; `down` missed its lease and waits to be removed or to register again. */
export type InstanceState = "up" | "down";

/** An instance as the registry API shows it. */
export interface InstanceView {
  id: string;
  url: string;
  address: string;
  port: number;
  protocol: InstanceProtocol;
  weight: number;
  version?: string;
  zone?: string;
  tags: string[];
  metadata: Record<string, string>;
  healthCheck?: { path: string; interval?: string };
  state: InstanceState;
  registeredAt: string;
  lastHeartbeat: string;
  expiresAt: string;
}

/** What a registration or a heartbeat answers: the lease the instance holds now. */
export interface Lease {
  service: string;
  id: string;
  /** Where the instance is reached, e.g. `http://10.0.0.7:9003`. */
  url: string;
  /** The lease's time to live as the registry writes it, e.g. `10s`. */
  ttl: string;
  ttlMs: number;
  /** When the lease runs out unless a heartbeat renews it (ISO 8601). */
  expiresAt: string;
  registeredAt: string;
}

/** The registry settings a registration is checked against. */
export interface RegistrationRules {
  defaultTtl: number;
  maxTtl: number;
  /** CIDRs an address must be in; empty: any. */
  allowedNetworks: readonly string[];
}

const hostnamePattern =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const label = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[^\s\p{C}]+$/u, "expected no spaces or control characters");

const registrationBody = z.strictObject({
  address: z.string().refine((address) => isIP(address) !== 0 || hostnamePattern.test(address), {
    message: "expected an IP address or a host name",
  }),
  port: z.number().int().min(1).max(65535),
  protocol: z.enum(["http", "grpc"]).default("http"),
  ttl: durationText.optional(),
  version: z
    .string()
    .refine((version) => semver.valid(version) !== null, {
      message: "expected a semantic version, e.g. 1.4.2",
    })
    .optional(),
  zone: label.optional(),
  tags: z
    .array(label)
    .max(64)
    .default([])
    .refine((tags) => new Set(tags).size === tags.length, { message: "lists a tag twice" }),
  metadata: z
    .record(label, z.string().max(4096))
    .default({})
    .refine((metadata) => Object.keys(metadata).length <= 64, {
      message: "must have at most 64 keys",
    }),
  weight: z.number().int().min(1).max(10_000).default(1),
  healthCheck: z
    .strictObject({
      path: z.string().regex(/^\/[^\s]*$/, "expected a path starting with /"),
      interval: durationText.optional(),
    })
    .optional(),
});

const invalid = (problems: string[]) =>
  new GatehouseError("GATEHOUSE_REGISTRY_INVALID_INSTANCE", problems.join("; "), { problems });

/** Throws GATEHOUSE_REGISTRY_INVALID_INSTANCE unless `name` is a registry service name or id. */
export function checkRegistryName(name: string, what: "service" | "id"): void {
  if (!registryNamePattern.test(name)) throw invalid([`${what} "${name}": ${registryNameHint}`]);
}

/**
 * The registration a PUT body asks for, checked against `rules`; throws
 * GATEHOUSE_REGISTRY_INVALID_INSTANCE listing every problem, or
 * GATEHOUSE_REGISTRY_FORBIDDEN_NETWORK for an address outside `allowedNetworks`.
 */
export function parseRegistration(
  service: string,
  id: string,
  body: unknown,
  rules: RegistrationRules,
  networks: BlockList | undefined = allowedNetworks(rules.allowedNetworks),
): Registration {
  checkRegistryName(service, "service");
  checkRegistryName(id, "id");
  const parsed = registrationBody.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) =>
      describeIssue(issue, body, registrationBody).map(({ path, key, message }) => {
        const at = key === undefined ? path : [...path, key];
        return at.length === 0 ? message : `${pathLabel(at)}: ${message}`;
      }),
    );
    throw invalid(problems);
  }
  const { address, port, protocol, ttl, version, zone, tags, metadata, weight, healthCheck } =
    parsed.data;
  const ttlMs = ttl === undefined ? rules.defaultTtl : parseDuration(ttl)!;
  if (ttlMs < 1000) throw invalid([`ttl: ${ttl} is too short: at least 1s`]);
  if (ttlMs > rules.maxTtl)
    throw invalid([
      `ttl: ${ttl} is longer than this registry allows (gateway.registry.maxTtl: ${formatDuration(rules.maxTtl)})`,
    ]);
  if (networks) {
    const family = isIP(address);
    if (family === 0)
      throw new GatehouseError(
        "GATEHOUSE_REGISTRY_FORBIDDEN_NETWORK",
        `address ${address} is a host name: this registry takes only IP addresses in ${rules.allowedNetworks.join(", ")}`,
      );
    if (!networks.check(address, family === 4 ? "ipv4" : "ipv6"))
      throw new GatehouseError(
        "GATEHOUSE_REGISTRY_FORBIDDEN_NETWORK",
        `address ${address} is not in the networks this registry allows (${rules.allowedNetworks.join(", ")})`,
      );
  }
  return {
    service,
    id,
    address,
    port,
    protocol,
    ttlMs,
    weight,
    ...(version !== undefined && { version: semver.valid(version)! }),
    ...(zone !== undefined && { zone }),
    tags,
    metadata,
    ...(healthCheck && {
      healthCheck: {
        path: healthCheck.path,
        ...(healthCheck.interval !== undefined && {
          intervalMs: parseDuration(healthCheck.interval)!,
        }),
      },
    }),
  };
}

/** The networks `cidrs` name, for `BlockList.check`; undefined when any address will do. */
export function allowedNetworks(cidrs: readonly string[]): BlockList | undefined {
  if (cidrs.length === 0) return undefined;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split("/") as [string, string | undefined];
    const family = isIP(address) === 6 ? "ipv6" : "ipv4";
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return list;
}

/** `http://10.0.0.7:9003`: where an instance is reached (gRPC too: h2c). */
export function instanceUrl(address: string, port: number): string {
  return `http://${isIP(address) === 6 ? `[${address}]` : address}:${port}`;
}
