/**
 * @module examples/shop/services/shared/service-env
 * The environment a shop service is started with, and what it means: ports (each service
 * its own, 0 for a free one), where its data is (PostgreSQL at DATABASE_URL, else PGlite in
 * SHOP_DATA_DIR/<name>), the event bus (NATS at NATS_URL, else the embedded transport), the
 * registry (GATEHOUSE_REGISTRY, else etcd at ETCD_URL), and the address (loopback unless
 * SHOP_LISTEN_HOST says otherwise).
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ShopServiceName } from "./protos.ts";

/** The variables a service reads: `process.env`, or what a host or a test passes. */
export type ShopEnv = Readonly<Record<string, string | undefined>>;

/** Each service's default gRPC port (`<NAME>_PORT` moves it). */
export const defaultPorts: Record<ShopServiceName, number> = {
  users: 50051,
  products: 50052,
  orders: 50053,
  payments: 50054,
  inventory: 50055,
};

/** The users service's JWKS port (plain HTTP), moved by USERS_JWKS_PORT. */
export const defaultJwksPort = 8090;

/** Where PGlite data goes without SHOP_DATA_DIR: `examples/shop/data/`. */
export const defaultDataDir = fileURLToPath(new URL("../../data/", import.meta.url));

/**
 * The address services listen on: SHOP_LISTEN_HOST, default 127.0.0.1 (loopback only; in
 * containers, 0.0.0.0).
 */
export function listenHostOf(env: ShopEnv): string {
  return env.SHOP_LISTEN_HOST || "127.0.0.1";
}

/**
 * The address registered for others to reach a service: SHOP_ADVERTISE_HOST; else
 * 127.0.0.1 when listening on loopback, or the SDK's choice (the host's first non-internal
 * IPv4 address) when not.
 */
export function advertisedAddressOf(env: ShopEnv): string | undefined {
  if (env.SHOP_ADVERTISE_HOST) return env.SHOP_ADVERTISE_HOST;
  return listenHostOf(env) === "127.0.0.1" ? "127.0.0.1" : undefined;
}

/** A port variable's value (0 for a free port); `fallback` when unset. */
export function portFrom(env: ShopEnv, variable: string, fallback: number): number {
  const text = env[variable];
  if (text === undefined || text === "") return fallback;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new TypeError(`${variable} must be a port number (0-65535), got "${text}"`);
  return port;
}

/** The gRPC port of a service: `<NAME>_PORT`, else its default. */
export function servicePort(env: ShopEnv, name: ShopServiceName): number {
  return portFrom(env, `${name.toUpperCase()}_PORT`, defaultPorts[name]);
}

/** Where the services' PGlite directories are: SHOP_DATA_DIR, else examples/shop/data/. */
export function dataRootOf(env: ShopEnv): string {
  return env.SHOP_DATA_DIR || defaultDataDir;
}

/** PGlite's directory for a service (used when DATABASE_URL is not set). */
export function dataDirOf(env: ShopEnv, name: ShopServiceName): string {
  return join(dataRootOf(env), name);
}

/** Milliseconds of a duration written `250ms`, `2s`, `1m` or as plain milliseconds. */
export function durationMs(env: ShopEnv, variable: string): number {
  const text = env[variable];
  if (text === undefined || text === "") return 0;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!match)
    throw new TypeError(`${variable} must be a duration like 250ms, 2s or 1m, got "${text}"`);
  const unit = match[2] === "m" ? 60_000 : match[2] === "s" ? 1_000 : 1;
  return Number(match[1]) * unit;
}

/** A number variable between 0 and 1 (a rate). */
export function rateFrom(env: ShopEnv, variable: string): number {
  const text = env[variable];
  if (text === undefined || text === "") return 0;
  const rate = Number(text);
  if (!(rate >= 0 && rate <= 1))
    throw new TypeError(`${variable} must be between 0 and 1, got "${text}"`);
  return rate;
}
