/**
 * @module examples/shop/services/shared/service-runtime
 * What every shop service does around its own methods: open its store (its tables created
 * under a lock, so two instances starting at once on one PostgreSQL do not race), connect
 * its event bus (relaying its own store's outbox), make its gRPC clients of other services,
 * serve, register with protocol grpc, and on close undo all of it in reverse order.
 */
import {
  type EventBus,
  events,
  type GrpcServiceClient,
  type GrpcServiceClientOptions,
  type Registration,
  register,
  type Store,
  serviceClient,
  store,
} from "gatehouse-gateway/sdk";
import { serveGrpc, type UnaryMethod } from "./grpc-server.ts";
import { type ShopServiceName, serviceNames } from "./protos.ts";
import {
  advertisedAddressOf,
  dataDirOf,
  listenHostOf,
  type ShopEnv,
  servicePort,
} from "./service-env.ts";

/** A started service, as `start<Name>(env)` resolves with it. */
export interface RunningService {
  name: ShopServiceName;
  /** The gRPC port it listens on (on SHOP_LISTEN_HOST, default 127.0.0.1). */
  port: number;
  /** `http://<address>:<port>` (h2c), as registered. */
  url: string;
  /** The users service: where its JWKS is served. */
  jwksUrl?: string;
  /** The users service: signs with a new key from now on (the JWKS keeps the old one); its kid. */
  rotateSigningKey?: () => Promise<string>;
  /** Deregisters, finishes the calls in flight, then closes its server, bus and store. */
  close(): Promise<void>;
}

/** Where the registry is: GATEHOUSE_REGISTRY (a gateway's registry API), else etcd at ETCD_URL. */
export function registryOptions(env: ShopEnv) {
  if (env.GATEHOUSE_REGISTRY) {
    return {
      registry: env.GATEHOUSE_REGISTRY.split(",").map((url) => url.trim()),
      ...(env.GATEHOUSE_REGISTRY_KEY && { key: env.GATEHOUSE_REGISTRY_KEY }),
    };
  }
  if (env.ETCD_URL) {
    return { etcd: { endpoints: env.ETCD_URL.split(",").map((url) => url.trim()) } };
  }
  throw new TypeError(
    "set GATEHOUSE_REGISTRY (a gateway's registry API, e.g. http://127.0.0.1:9900) or ETCD_URL",
  );
}

/** The pieces a service's methods use. */
export interface ServiceParts {
  name: ShopServiceName;
  env: ShopEnv;
  db: Store;
  bus: EventBus;
  /** A gRPC client of another shop service (balanced, retried as the gateway does). */
  client(
    name: ShopServiceName,
    options?: Pick<GrpcServiceClientOptions, "timeout" | "retries">,
  ): GrpcServiceClient;
  /** Run at close, before the bus and the store close (sagas, extra servers). */
  onClose(fn: () => Promise<unknown> | unknown): void;
  /** Runs what `onClose` was given (last first), closes the clients and the bus, then the store. */
  close(): Promise<void>;
}

/**
 * Opens the store and the bus, and creates the service's own tables: `schema` SQL run in
 * one transaction under an advisory lock named after the service.
 */
export async function openService(
  name: ShopServiceName,
  env: ShopEnv,
  schema: string[],
): Promise<ServiceParts> {
  const url = env.DATABASE_URL || undefined;
  const db = await store.open(url, {
    name: `shop_${name}`,
    ...(url === undefined && { dataDir: dataDirOf(env, name) }),
    handleSignals: false,
  });
  const closers: (() => Promise<unknown> | unknown)[] = [];
  try {
    await db.transaction(async (tx) => {
      await tx.query("select pg_advisory_xact_lock(hashtext($1))", [`shop_${name}_schema`]);
      for (const statement of schema) await tx.query(statement);
    });
    // Each bus relays its own store's outbox only: in the embedded host five stores share
    // one process, and each service publishes its own events.
    const bus = await events.connect(env.NATS_URL || undefined, { stores: [db] });
    closers.push(() => bus.close());
    const registry = registryOptions(env);
    return {
      name,
      env,
      db,
      bus,
      client(target, options = {}) {
        const client = serviceClient(target, {
          ...registry,
          protocol: "grpc",
          timeout: options.timeout ?? "10s",
          retries: options.retries ?? 2,
        });
        closers.push(() => client.close());
        return client;
      },
      onClose(fn) {
        closers.push(fn);
      },
      async close() {
        for (const fn of closers.reverse()) await fn();
        closers.length = 0;
        await db.close();
      },
    };
  } catch (error) {
    for (const fn of closers.reverse()) await fn();
    await db.close();
    throw error;
  }
}

/** Serves the methods, registers the instance, and gives the running service. */
export async function serveService(
  parts: ServiceParts,
  methods: Record<string, UnaryMethod>,
  extra: Pick<RunningService, "jwksUrl" | "rotateSigningKey"> = {},
): Promise<RunningService> {
  const { name, env } = parts;
  const server = await serveGrpc({
    service: serviceNames[name],
    shortName: name,
    methods,
    host: listenHostOf(env),
    port: servicePort(env, name),
  });
  const address = advertisedAddressOf(env);
  let registration: Registration | undefined;
  try {
    registration = await register({
      ...registryOptions(env),
      name,
      port: server.port,
      ...(address !== undefined && { address }),
      protocol: "grpc",
      version: "1.0.0",
      handleSignals: false,
    });
  } catch (error) {
    await server.close(0);
    await parts.close();
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    name,
    port: server.port,
    url: `http://${address ?? "127.0.0.1"}:${server.port}`,
    ...extra,
    close() {
      closing ??= (async () => {
        server.markNotServing();
        await registration.close();
        await server.close();
        await parts.close();
      })();
      return closing;
    },
  };
}
