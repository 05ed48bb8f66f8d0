/**
 * @module test/helpers/registry-stub-server
 * A small, real HTTP server that speaks the registry API's contract (registration with a
 * lease, heartbeats, deregistration, listing, and the `?watch=1` event stream), with
 * leases that run out on timers as the contract says: a missed TTL marks the instance
 * `down` at once, and it is removed `removeAfter` later. The SDK's tests run against it;
 * it stands in for the gateway's registry until both are built. Tests may also stop it
 * (the registry unreachable), start it again, make it forget everything (a restart of a
 * memory store), cut its watch streams, and read every request it got.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const instanceFields = new Set([
  "address",
  "port",
  "protocol",
  "ttl",
  "version",
  "zone",
  "tags",
  "metadata",
  "weight",
  "healthCheck",
]);

/** An instance as the contract's JSON shows it. */
export interface StubInstance {
  id: string;
  url: string;
  address: string;
  port: number;
  protocol: "http" | "grpc";
  weight: number;
  version?: string;
  zone?: string;
  tags: string[];
  metadata: Record<string, string>;
  state: "up" | "down";
  registeredAt: string;
  lastHeartbeat: string;
  expiresAt: string;
}

interface Record_ {
  service: string;
  instance: StubInstance;
  ttlMs: number;
  expiry: NodeJS.Timeout | undefined;
  removal: NodeJS.Timeout | undefined;
}

/** One request the stub answered. */
export interface StubRequest {
  method: string;
  path: string;
  status: number;
  at: number;
}

/** One event the stub sent (or would have sent) to watchers of a service. */
export interface StubEvent {
  service: string;
  event: "put" | "down" | "delete";
  id: string;
  revision: number;
  at: number;
}

export interface RegistryStubOptions {
  /** Keys a request must carry as `Authorization: Bearer`; none: every request is taken. */
  keys?: string[];
  defaultTtlMs?: number;
  maxTtlMs?: number;
  removeAfterMs?: number;
  keepaliveMs?: number;
  /** Listen on this port (a restarted stub takes its old one). */
  port?: number;
}

export interface RegistryStub {
  url: string;
  port: number;
  requests: StubRequest[];
  events: StubEvent[];
  /** The service's instances now (down ones included). */
  instances(service: string): StubInstance[];
  /** Stops listening and cuts every connection; the instances stay in memory. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  /** Drops every instance without telling watchers, as a restarted memory store would. */
  forget(): void;
  /** Ends every watch stream (the watchers must reconnect). */
  dropWatchers(): void;
  /** Stops for good. */
  close(): Promise<void>;
}

function ttlText(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

function parseTtl(text: unknown): number | undefined {
  if (typeof text !== "string") return undefined;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2]!]!);
}

/** Starts the stub on a free loopback port (or `options.port`). */
export async function startRegistryStub(options: RegistryStubOptions = {}): Promise<RegistryStub> {
  const defaultTtlMs = options.defaultTtlMs ?? 10_000;
  const maxTtlMs = options.maxTtlMs ?? 300_000;
  const removeAfterMs = options.removeAfterMs ?? 60_000;
  const keepaliveMs = options.keepaliveMs ?? 15_000;
  const keys = new Set(options.keys ?? []);
  const records = new Map<string, Map<string, Record_>>();
  const watchers = new Map<string, Set<ServerResponse>>();
  const sockets = new Set<Socket>();
  const requests: StubRequest[] = [];
  const events: StubEvent[] = [];
  let revision = 0;
  let server: Server;
  let port = options.port ?? 0;

  function send(res: ServerResponse, status: number, body?: unknown): void {
    if (body === undefined) {
      res.writeHead(status).end();
      return;
    }
    const text = JSON.stringify(body);
    res
      .writeHead(status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
      })
      .end(text);
  }

  function fail(
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    problems?: string[],
  ) {
    send(res, status, {
      error: { code, message, requestId: "stub", ...(problems && { problems }) },
    });
  }

  function lease(record: Record_) {
    return {
      service: record.service,
      id: record.instance.id,
      url: record.instance.url,
      ttl: ttlText(record.ttlMs),
      ttlMs: record.ttlMs,
      expiresAt: record.instance.expiresAt,
      registeredAt: record.instance.registeredAt,
    };
  }

  function broadcast(service: string, event: StubEvent["event"], data: object, id: string): void {
    events.push({ service, event, id, revision, at: Date.now() });
    for (const res of watchers.get(service) ?? []) {
      res.write(
        `event: ${event}\nid: ${revision}\ndata: ${JSON.stringify({ revision, ...data })}\n\n`,
      );
    }
  }

  function refreshLease(record: Record_): void {
    clearTimeout(record.expiry);
    clearTimeout(record.removal);
    record.removal = undefined;
    const now = Date.now();
    record.instance.lastHeartbeat = new Date(now).toISOString();
    record.instance.expiresAt = new Date(now + record.ttlMs).toISOString();
    record.expiry = setTimeout(() => {
      record.instance.state = "down";
      revision++;
      broadcast(record.service, "down", { id: record.instance.id }, record.instance.id);
      record.removal = setTimeout(() => remove(record), removeAfterMs);
    }, record.ttlMs);
  }

  function remove(record: Record_): void {
    clearTimeout(record.expiry);
    clearTimeout(record.removal);
    const instances = records.get(record.service);
    instances?.delete(record.instance.id);
    if (instances?.size === 0) records.delete(record.service);
    revision++;
    broadcast(record.service, "delete", { id: record.instance.id }, record.instance.id);
  }

  function validate(body: unknown): string[] {
    if (typeof body !== "object" || body === null || Array.isArray(body))
      return ["body: expected an object"];
    const problems: string[] = [];
    const b = body as Record<string, unknown>;
    for (const key of Object.keys(b))
      if (!instanceFields.has(key)) problems.push(`${key}: unknown field`);
    if (typeof b.address !== "string" || b.address === "") problems.push("address: required");
    if (!Number.isInteger(b.port) || (b.port as number) < 1 || (b.port as number) > 65535)
      problems.push("port: expected 1..65535");
    if (b.protocol !== undefined && b.protocol !== "http" && b.protocol !== "grpc")
      problems.push("protocol: expected http or grpc");
    if (b.ttl !== undefined && parseTtl(b.ttl) === undefined)
      problems.push("ttl: expected a duration");
    if (b.weight !== undefined && (!Number.isInteger(b.weight) || (b.weight as number) < 1))
      problems.push("weight: expected a whole number >= 1");
    return problems;
  }

  function put(service: string, id: string, body: unknown, res: ServerResponse): void {
    const problems = validate(body);
    if (problems.length > 0) {
      fail(res, 400, "GATEHOUSE_REGISTRY_INVALID_INSTANCE", "The instance is not valid", problems);
      return;
    }
    const b = body as Record<string, unknown>;
    const ttlMs = Math.min(maxTtlMs, parseTtl(b.ttl) ?? defaultTtlMs);
    const address = b.address as string;
    const host = address.includes(":") ? `[${address}]` : address;
    const instances = records.get(service) ?? new Map<string, Record_>();
    records.set(service, instances);
    const existing = instances.get(id);
    const now = new Date().toISOString();
    const instance: StubInstance = {
      id,
      url: `http://${host}:${b.port}`,
      address,
      port: b.port as number,
      protocol: (b.protocol as "http" | "grpc") ?? "http",
      weight: (b.weight as number) ?? 1,
      ...(typeof b.version === "string" && { version: b.version }),
      ...(typeof b.zone === "string" && { zone: b.zone }),
      tags: (b.tags as string[]) ?? [],
      metadata: (b.metadata as Record<string, string>) ?? {},
      state: "up",
      registeredAt: now,
      lastHeartbeat: now,
      expiresAt: now,
    };
    const record: Record_ = existing ?? {
      service,
      instance,
      ttlMs,
      expiry: undefined,
      removal: undefined,
    };
    record.instance = instance;
    record.ttlMs = ttlMs;
    instances.set(id, record);
    refreshLease(record);
    revision++;
    broadcast(service, "put", { instance }, id);
    send(res, existing ? 200 : 201, lease(record));
  }

  function watch(service: string, res: ServerResponse): void {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
    });
    const instances = [...(records.get(service)?.values() ?? [])].map((r) => r.instance);
    res.write(
      `event: snapshot\nid: ${revision}\ndata: ${JSON.stringify({ service, revision, instances })}\n\n`,
    );
    const set = watchers.get(service) ?? new Set();
    watchers.set(service, set);
    set.add(res);
    const keepalive = setInterval(() => res.write(": keepalive\n\n"), keepaliveMs);
    res.on("close", () => {
      clearInterval(keepalive);
      set.delete(res);
    });
  }

  function handle(req: IncomingMessage, res: ServerResponse, body: string): number {
    const url = new URL(req.url ?? "/", "http://stub");
    if (keys.size > 0) {
      const presented = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
      if (!presented || !keys.has(presented)) {
        fail(res, 401, "GATEHOUSE_ADMIN_UNAUTHORIZED", "The admin API needs a valid key");
        return 401;
      }
    }
    const parts = url.pathname.split("/").slice(1).map(decodeURIComponent);
    if (parts[0] !== "registry" || parts[1] !== "services") {
      fail(res, 404, "GATEHOUSE_REGISTRY_NOT_FOUND", "No such registry resource");
      return 404;
    }
    const [, , service, instancesWord, id, heartbeatWord] = parts;
    if (req.method === "GET" && service === undefined) {
      const services = [...records].map(([name, instances]) => {
        const all = [...instances.values()];
        const up = all.filter((r) => r.instance.state === "up").length;
        return { name, instances: all.length, up, down: all.length - up };
      });
      send(res, 200, { services });
      return 200;
    }
    if (service === undefined || !namePattern.test(service)) {
      fail(res, 404, "GATEHOUSE_REGISTRY_NOT_FOUND", "No such service");
      return 404;
    }
    if (req.method === "GET" && instancesWord === undefined) {
      if (url.searchParams.get("watch") === "1") {
        watch(service, res);
        return 200;
      }
      const instances = [...(records.get(service)?.values() ?? [])].map((r) => r.instance);
      if (instances.length === 0) {
        fail(res, 404, "GATEHOUSE_REGISTRY_NOT_FOUND", "The service has no instances");
        return 404;
      }
      send(res, 200, { service, revision, instances });
      return 200;
    }
    if (instancesWord !== "instances" || id === undefined || !namePattern.test(id)) {
      fail(res, 404, "GATEHOUSE_REGISTRY_NOT_FOUND", "No such registry resource");
      return 404;
    }
    const record = records.get(service)?.get(id);
    if (req.method === "PUT" && heartbeatWord === "heartbeat") {
      if (record?.instance.state !== "up") {
        fail(res, 404, "GATEHOUSE_REGISTRY_LEASE_EXPIRED", "The lease expired: register again");
        return 404;
      }
      refreshLease(record);
      send(res, 200, lease(record));
      return 200;
    }
    if (heartbeatWord !== undefined) {
      fail(res, 404, "GATEHOUSE_REGISTRY_NOT_FOUND", "No such registry resource");
      return 404;
    }
    if (req.method === "PUT") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        fail(res, 400, "GATEHOUSE_REGISTRY_INVALID_INSTANCE", "The body is not JSON");
        return 400;
      }
      put(service, id, parsed, res);
      return res.statusCode;
    }
    if (req.method === "DELETE") {
      if (!record) {
        fail(res, 404, "GATEHOUSE_REGISTRY_NOT_FOUND", "No such instance");
        return 404;
      }
      remove(record);
      send(res, 204);
      return 204;
    }
    fail(res, 404, "GATEHOUSE_REGISTRY_NOT_FOUND", "No such registry resource");
    return 404;
  }

  async function listen(): Promise<void> {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const status = handle(req, res, Buffer.concat(chunks).toString("utf8"));
        requests.push({ method: req.method ?? "", path: req.url ?? "", status, at: Date.now() });
      });
    });
    server.on("connection", (socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
    port = (server.address() as AddressInfo).port;
  }

  function forget(): void {
    for (const instances of records.values()) {
      for (const record of instances.values()) {
        clearTimeout(record.expiry);
        clearTimeout(record.removal);
      }
    }
    records.clear();
  }

  async function stop(): Promise<void> {
    for (const set of watchers.values()) for (const res of set) res.destroy();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  await listen();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    requests,
    events,
    instances: (service) => [...(records.get(service)?.values() ?? [])].map((r) => r.instance),
    stop,
    start: listen,
    forget,
    dropWatchers() {
      for (const set of watchers.values()) for (const res of set) res.destroy();
    },
    async close() {
      forget();
      if (server.listening) await stop();
    },
  };
}
