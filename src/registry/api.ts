/**
 * @module registry/api
 * The registry's HTTP API under `/registry/`: register, renew, deregister, list and watch.
 * Served on the admin listener or on its own (registry/server); either way it asks for a
 * registry or admin key (registry/auth) and answers in JSON, its errors in the gateway's
 * one error shape. A registration is checked whole before anything is stored.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { BlockList } from "node:net";
import FindMyWay from "find-my-way";
import { readBody, sendJson } from "../admin/http.ts";
import { GatehouseError, isGatehouseError } from "../errors.ts";
import { createRegistryAuth, type RegistryCaller, type WrittenKey } from "./auth.ts";
import {
  allowedNetworks,
  checkRegistryName,
  parseRegistration,
  type RegistrationRules,
} from "./instance.ts";
import type { RegistryStore } from "./store.ts";
import { streamWatch } from "./watch-stream.ts";

const base = "/registry/services";

/** Every method and path the registry API serves (the admin API's OpenAPI describes each). */
export const registryRoutes = {
  list: { method: "GET", path: base },
  service: { method: "GET", path: `${base}/:service` },
  register: { method: "PUT", path: `${base}/:service/instances/:id` },
  heartbeat: { method: "PUT", path: `${base}/:service/instances/:id/heartbeat` },
  deregister: { method: "DELETE", path: `${base}/:service/instances/:id` },
} as const satisfies Record<string, { method: "GET" | "PUT" | "DELETE"; path: string }>;

/** A registration body is small: this is far more than any needs. */
const maxBodySize = 64 * 1024;

export interface RegistryApiOptions {
  store: RegistryStore;
  rules: RegistrationRules;
  /** The registry's keys and the admin API's: any of them may call. */
  keys: readonly WrittenKey[];
  /** Milliseconds between a watch stream's keepalive comments. */
  keepAliveMs?: number;
}

interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string | undefined>;
  /** The query string, without its `?` (parsed by the routes that read it). */
  search: string;
  caller: RegistryCaller;
}

interface RegistryRoute {
  method: "GET" | "PUT" | "DELETE";
  path: string;
  handle(call: Call): Promise<void> | void;
}

/** The registry API: `handles` says whether a path is its, `handle` answers it. */
export class RegistryApi {
  readonly #store: RegistryStore;
  readonly #rules: RegistrationRules;
  readonly #networks: BlockList | undefined;
  readonly #authenticate: (req: IncomingMessage) => RegistryCaller;
  readonly #keepAliveMs: number | undefined;
  readonly #router = FindMyWay<FindMyWay.HTTPVersion.V1>({ ignoreTrailingSlash: true });

  constructor(options: RegistryApiOptions) {
    this.#store = options.store;
    this.#rules = options.rules;
    this.#networks = allowedNetworks(options.rules.allowedNetworks);
    this.#authenticate = createRegistryAuth(options.keys);
    this.#keepAliveMs = options.keepAliveMs;
    for (const route of this.#routes())
      this.#router.on(route.method, route.path, () => {}, { route });
  }

  /** Whether `path` (without its query) belongs to the registry API. */
  handles(path: string): boolean {
    return path === "/registry" || path.startsWith("/registry/");
  }

  /** Answers one request (throws a GatehouseError for the caller to answer). */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const caller = this.#authenticate(req);
    const url = req.url ?? "/";
    // Heartbeats are most of the registry's traffic (every instance, every few seconds):
    // their path is read by hand, not routed.
    const beat = req.method === "PUT" ? heartbeatOf(url) : undefined;
    if (beat) {
      if (caller.readOnly) throw readOnly(caller);
      await this.#heartbeat({ res, params: beat });
      return;
    }
    const [path = "/", search = ""] = url.split("?", 2);
    const method = req.method === "HEAD" ? "GET" : (req.method ?? "GET");
    const found = this.#router.find(method as FindMyWay.HTTPMethod, path);
    if (!found) throw this.#notFound(path);
    const { route } = found.store as { route: RegistryRoute };
    if (caller.readOnly && route.method !== "GET") throw readOnly(caller);
    await route.handle({ req, res, params: found.params, search, caller });
  }

  #routes(): RegistryRoute[] {
    const handlers: Record<keyof typeof registryRoutes, RegistryRoute["handle"]> = {
      list: ({ res }) => this.#list(res),
      service: (call) => this.#service(call),
      register: (call) => this.#put(call),
      heartbeat: (call) => this.#heartbeat(call),
      deregister: (call) => this.#remove(call),
    };
    return Object.entries(registryRoutes).map(([name, route]) => ({
      ...route,
      handle: handlers[name as keyof typeof registryRoutes],
    }));
  }

  #list(res: ServerResponse): void {
    sendJson(res, 200, { services: this.#store.list() });
  }

  #service({ res, params, search }: Call): void {
    const service = params.service!;
    checkRegistryName(service, "service");
    if (isOn(new URLSearchParams(search).get("watch"))) {
      streamWatch(this.#store, service, res, { keepAliveMs: this.#keepAliveMs });
      return;
    }
    const snapshot = this.#store.snapshot(service);
    if (snapshot.instances.length === 0)
      throw new GatehouseError(
        "GATEHOUSE_REGISTRY_NOT_FOUND",
        `the registry has no instance of service "${service}"`,
      );
    sendJson(res, 200, snapshot);
  }

  async #put({ req, res, params }: Call): Promise<void> {
    const registration = parseRegistration(
      params.service!,
      params.id!,
      await readRegistrationBody(req),
      this.#rules,
      this.#networks,
    );
    const { lease, created } = await this.#store.put(registration);
    sendJson(res, created ? 201 : 200, lease);
  }

  async #heartbeat({ res, params }: Pick<Call, "res" | "params">): Promise<void> {
    const { service, id } = params as { service: string; id: string };
    const lease = await this.#store.heartbeat(service, id);
    if (!lease)
      throw new GatehouseError(
        "GATEHOUSE_REGISTRY_LEASE_EXPIRED",
        `instance "${id}" of service "${service}" holds no lease (it expired, was removed, or never registered): register it again with PUT`,
      );
    sendJson(res, 200, lease);
  }

  async #remove({ res, params }: Call): Promise<void> {
    const { service, id } = params as { service: string; id: string };
    if (!(await this.#store.remove(service, id)))
      throw new GatehouseError(
        "GATEHOUSE_REGISTRY_NOT_FOUND",
        `the registry has no instance "${id}" of service "${service}"`,
      );
    sendJson(res, 204, undefined);
  }

  /** 404 for an unknown path, 405 (with Allow) for a known path and another method. */
  #notFound(path: string): GatehouseError {
    const allowed = (["GET", "PUT", "DELETE"] as const).filter((method) =>
      this.#router.find(method, path),
    );
    if (allowed.length === 0)
      return new GatehouseError(
        "GATEHOUSE_REGISTRY_NOT_FOUND",
        `no registry API path ${path} (see docs/registry.md)`,
      );
    return new GatehouseError(
      "GATEHOUSE_METHOD_NOT_ALLOWED",
      `${path} accepts ${allowed.join(", ")}`,
      {
        headers: { allow: allowed.join(", ") },
      },
    );
  }
}

/** The JSON body of a registration; one that is not JSON is an invalid instance. */
async function readRegistrationBody(req: IncomingMessage): Promise<unknown> {
  try {
    return await readBody(req, maxBodySize);
  } catch (error) {
    if (!isGatehouseError(error, "GATEHOUSE_ADMIN_BAD_REQUEST")) throw error;
    throw new GatehouseError("GATEHOUSE_REGISTRY_INVALID_INSTANCE", error.message, {
      problems: [error.message],
    });
  }
}

/**
 * The service and id of a heartbeat's path (`/registry/services/{service}/instances/{id}/heartbeat`),
 * when it is one written plainly: anything else (a query, an escape, a trailing slash) is
 * left to the router.
 */
function heartbeatOf(url: string): { service: string; id: string } | undefined {
  if (!url.startsWith(heartbeatPrefix) || !url.endsWith(heartbeatSuffix)) return undefined;
  const parts = url.slice(heartbeatPrefix.length, -heartbeatSuffix.length).split("/");
  if (parts.length !== 3 || parts[1] !== "instances") return undefined;
  const [service, , id] = parts as [string, string, string];
  if (service === "" || id === "" || /[%?#]/.test(service) || /[%?#]/.test(id)) return undefined;
  return { service, id };
}

const heartbeatPrefix = `${base}/`;
const heartbeatSuffix = "/heartbeat";

const readOnly = (caller: RegistryCaller) =>
  new GatehouseError(
    "GATEHOUSE_ADMIN_FORBIDDEN",
    `key "${caller.actor}" is read-only: it may list and watch instances, not change them`,
  );

const isOn = (value: string | null) => value !== null && value !== "0" && value !== "false";
