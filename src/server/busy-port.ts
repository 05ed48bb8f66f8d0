/**
 * @module server/busy-port
 * Which configured listener a failed `listen()` was for, so that a port already in use is
 * reported in one line naming the listener and the setting that chose its port, rather
 * than as Node's error with a stack trace.
 */

/** One listening socket the gateway opens, and the config setting that gives its port. */
export interface ConfiguredListener {
  name: "proxy" | "status" | "admin" | "registry";
  /** The config path of its port, e.g. `gateway.status.port`. */
  setting: string;
  host: string;
  port: number;
}

interface ListenerSettings {
  listen: readonly { host: string; port: number }[];
  status?: { host: string; port: number } | undefined;
  admin?: { host: string; port: number } | undefined;
  registry?: { listen?: { host: string; port: number } | undefined } | undefined;
}

/**
 * Every listener a gateway block opens: the proxy listeners, then status, then admin, then
 * the registry API's own.
 */
export function configuredListeners(gateway: ListenerSettings): ConfiguredListener[] {
  const listeners: ConfiguredListener[] = gateway.listen.map(({ host, port }, index) => ({
    name: "proxy",
    setting: `gateway.listen[${index}].port`,
    host,
    port,
  }));
  const { status, admin } = gateway;
  if (status) {
    const { host, port } = status;
    listeners.push({ name: "status", setting: "gateway.status.port", host, port });
  }
  if (admin) {
    const { host, port } = admin;
    listeners.push({ name: "admin", setting: "gateway.admin.port", host, port });
  }
  const registry = gateway.registry?.listen;
  if (registry) {
    const { host, port } = registry;
    listeners.push({ name: "registry", setting: "gateway.registry.listen.port", host, port });
  }
  return listeners;
}

/**
 * The listener whose port was taken, when `error` is listen()'s EADDRINUSE for one of
 * `listeners` (a port 0 is never taken: the system picks a free one).
 */
export function busyListener<T extends { port: number }>(
  error: unknown,
  listeners: readonly T[],
): T | undefined {
  const { code, port } = (error ?? {}) as { code?: unknown; port?: unknown };
  if (code !== "EADDRINUSE" || typeof port !== "number" || port === 0) return undefined;
  return listeners.find((listener) => listener.port === port);
}
