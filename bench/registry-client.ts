/**
 * @module bench/registry-client
 * The registry API as the registry bench calls it: registrations and deregistrations over
 * one pool of kept-alive connections, shared by every measurement (and closed by its caller).
 */
import { Agent, request } from "undici";

/** The bench's connections to the gateway (registry API, proxy and status listeners). */
export const dispatcher = new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });

/** Registers (or replaces) an instance; the status the registry answered. */
export async function put(
  admin: string,
  service: string,
  id: string,
  body: object,
): Promise<number> {
  const res = await request(`${admin}/registry/services/${service}/instances/${id}`, {
    method: "PUT",
    body: JSON.stringify(body),
    headers: { "content-type": "application/json" },
    dispatcher,
  });
  await res.body.dump();
  return res.statusCode;
}

/** Deregisters an instance. */
export async function remove(admin: string, service: string, id: string): Promise<void> {
  const res = await request(`${admin}/registry/services/${service}/instances/${id}`, {
    method: "DELETE",
    dispatcher,
  });
  await res.body.dump();
}
