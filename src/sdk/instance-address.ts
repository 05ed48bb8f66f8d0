/**
 * @module sdk/instance-address
 * Where a registering instance says it can be reached, and the id it registers under,
 * when the caller does not say.
 */
import { networkInterfaces } from "node:os";
import { isLoopbackUrl } from "./registry-endpoint.ts";

/**
 * The address to register: 127.0.0.1 when the registry is on this host (every one of its
 * URLs: it reaches the instance there), else this host's first non-internal IPv4 address
 * (127.0.0.1 if it has none).
 */
export function defaultAddress(registryBases: readonly string[]): string {
  if (registryBases.every(isLoopbackUrl)) return "127.0.0.1";
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) {
      if (address.family === "IPv4" && !address.internal) return address.address;
    }
  }
  return "127.0.0.1";
}

/**
 * The id an instance registers under by default: its address and port (`10.0.0.7-9003`),
 * so a restarted instance replaces its old registration instead of adding a second one.
 */
export function defaultInstanceId(address: string, port: number): string {
  return `${address}-${port}`.replace(/[^A-Za-z0-9._-]/g, "-").replace(/^[^A-Za-z0-9]+/, "");
}
