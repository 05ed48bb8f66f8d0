// The etcd config store's layout and I/O against a real etcd: documents in chunks under
// etcd's request limit, the last N versions kept, a stale writer refused (its chunks
// removed), two seeds racing with one winner, and the one watch resuming from the last
// revision it saw after its connection broke (through a TCP proxy that is cut and restored).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { connect, createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Etcd3, Range } from "etcd3";
import { isGatehouseError } from "../../src/errors.ts";
import { EtcdCacheWriter, readEtcdCache } from "../../src/providers/etcd-cache.ts";
import { EtcdFollower } from "../../src/providers/etcd-follow.ts";
import {
  type CurrentVersion,
  EtcdConfigStore,
  type EtcdSettings,
  StoreUnavailableError,
} from "../../src/providers/etcd-store.ts";
import { type EtcdServer, startEtcdServer } from "../helpers/etcd-server.ts";
import { type GatehouseNode, startGatehouseNode } from "../helpers/gatehouse-node.ts";

const record = { appliedAt: new Date(0).toISOString(), source: "admin", actor: "test" };
const settings = (endpoint: string, prefix: string): EtcdSettings => ({
  endpoints: [endpoint],
  prefix,
  timeout: 2_000,
});
const routes = (count: number, pad = 0) => ({
  routes: Array.from({ length: count }, (_, i) => ({
    name: `r${i}`,
    match: { paths: [`/r${i}/${"x".repeat(pad)}`] },
    service: "s",
  })),
});

/**
 * A TCP proxy in front of etcd whose connections can be cut, and then let through again
 * (to another etcd, after `retarget`).
 */
async function startCuttableProxy(port: number) {
  let target = port;
  const sockets = new Set<Socket>();
  let server: Server;
  const listen = async (at: number) => {
    server = createServer((client) => {
      const upstream = connect(target, "127.0.0.1");
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        socket.on("error", () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(at, "127.0.0.1");
    await once(server, "listening");
    return (server.address() as { port: number }).port;
  };
  const proxyPort = await listen(0);
  return {
    url: `http://127.0.0.1:${proxyPort}`,
    async cut() {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
    restore: () => listen(proxyPort),
    retarget(at: number) {
      target = at;
    },
    close: async () => {
      server.close();
      for (const socket of sockets) socket.destroy();
    },
  };
}

describe("etcd config store layout", () => {
  let etcd: EtcdServer;
  let raw: Etcd3;
  const stores: EtcdConfigStore[] = [];
  const open = (prefix: string, keep = 20, endpoint = etcd.url) => {
    const store = new EtcdConfigStore(settings(endpoint, prefix), keep);
    stores.push(store);
    return store;
  };

  before(async () => {
    etcd = await startEtcdServer();
    raw = new Etcd3({ hosts: etcd.url });
  });
  after(async () => {
    for (const store of stores) store.close();
    raw?.close();
    await etcd?.remove();
  });

  it("stores a document over 1.5 MiB in chunks of at most 1 MiB and reads it back", async () => {
    const store = open("/big/");
    const document = routes(8_000, 300);
    const size = Buffer.byteLength(JSON.stringify(document));
    assert.ok(size > 2.5 * 1024 * 1024);
    const written = await store.write(document, record, undefined);
    assert.equal(written.chunks, Math.ceil(size / (1024 * 1024)));
    const keys = await raw.getAll().prefix("/big/").keys();
    const chunkKeys = keys.filter((key) => key.includes("/chunks/")).sort();
    assert.deepEqual(
      chunkKeys,
      Array.from(
        { length: written.chunks },
        (_, i) => `/big/versions/1/chunks/${written.writeId}/${i}`,
      ).sort(),
    );
    assert.ok(keys.includes("/big/current") && keys.includes("/big/versions/1/meta"));
    for (const key of chunkKeys) assert.ok((await raw.get(key).buffer())!.length <= 1024 * 1024);
    const current = await store.readCurrent();
    assert.deepEqual(current, written);
    assert.deepEqual(await store.readDocument(current!), document);
  });

  it("keeps the last N versions and deletes older ones", async () => {
    const store = open("/keep/", 3);
    let current: CurrentVersion | undefined;
    for (let i = 1; i <= 5; i++) current = await store.write(routes(i), record, current);
    const versions = new Set(
      (await raw.getAll().prefix("/keep/versions/").keys()).map((key) => key.split("/")[3]),
    );
    assert.deepEqual([...versions].sort(), ["3", "4", "5"]);
  });

  it("refuses a writer whose version is stale, and removes its chunks", async () => {
    const store = open("/stale/");
    const first = await store.write(routes(1), record, undefined);
    const second = await store.write(routes(2), record, first);
    await assert.rejects(store.write(routes(3), record, first), (error: Error) => {
      assert.ok(isGatehouseError(error, "GATEHOUSE_CONFIG_CONFLICT"));
      assert.match(error.message, /version 1 is no longer current in etcd/);
      return true;
    });
    const chunkSets = new Set(
      (await raw.getAll().prefix("/stale/versions/2/chunks/").keys()).map(
        (key) => key.split("/")[5],
      ),
    );
    assert.deepEqual([...chunkSets], [second.writeId], "only the winner's chunks are left");
    assert.deepEqual(await store.readDocument((await store.readCurrent())!), routes(2));
  });

  it("two nodes seeding an empty prefix at once: exactly one wins", async () => {
    const outcomes = await Promise.allSettled(
      [open("/seed/"), open("/seed/")].map((store, i) =>
        store.write(routes(i + 1), record, undefined),
      ),
    );
    assert.deepEqual(outcomes.map((outcome) => outcome.status).sort(), ["fulfilled", "rejected"]);
    const winner = outcomes.findIndex((outcome) => outcome.status === "fulfilled");
    const store = open("/seed/");
    assert.deepEqual(await store.readDocument((await store.readCurrent())!), routes(winner + 1));
  });

  it("a hung etcd (SIGSTOP): a write fails after about `timeout`, the watch notices", async () => {
    const store = new EtcdConfigStore({ ...settings(etcd.url, "/hung/"), timeout: 500 }, 20);
    stores.push(store);
    const first = await store.write(routes(1), record, undefined);
    let disconnectedAt: number | undefined;
    let connected = false;
    const watcher = store.watch({
      change: () => {},
      malformed: (error) => assert.fail(error),
      deleted: () => {},
      connected: () => {
        connected = true;
      },
      disconnected: () => {
        disconnectedAt ??= performance.now();
      },
      cancelled: (error) => assert.fail(error),
    });
    for (let i = 0; i < 250 && !connected; i++) await new Promise((r) => setTimeout(r, 20));
    etcd.pause();
    try {
      const started = performance.now();
      await assert.rejects(store.write(routes(2), record, first), StoreUnavailableError);
      const took = performance.now() - started;
      assert.ok(took >= 450 && took < 1_500, `failed after ${took.toFixed(0)} ms`);
      // Keepalive pings every 10 s, answered within `timeout`, or the connection is dropped.
      for (let i = 0; i < 150 && disconnectedAt === undefined; i++)
        await new Promise((r) => setTimeout(r, 100));
      assert.ok(disconnectedAt !== undefined, "the watch noticed the hung etcd");
      console.log(
        `hung etcd: write refused after ${took.toFixed(0)} ms; watch disconnected after ${(disconnectedAt - started).toFixed(0)} ms`,
      );
    } finally {
      etcd.resume();
      await watcher.cancel().catch(() => {});
    }
  });

  it("the watch resumes from the last revision it saw after its connection broke", async () => {
    const proxy = await startCuttableProxy(etcd.port);
    const writer = open("/watch/");
    const watching = open("/watch/", 20, proxy.url);
    const seen: number[] = [];
    let connected = 0;
    let disconnected = 0;
    const watcher = watching.watch({
      change: (current) => seen.push(current.version),
      malformed: (error) => assert.fail(error),
      deleted: () => assert.fail("nothing deletes current"),
      connected: () => connected++,
      disconnected: () => disconnected++,
      cancelled: (error) => assert.fail(error),
    });
    const until = async (check: () => boolean, what: string) => {
      for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(check(), what);
    };
    try {
      await until(() => connected === 1, "watch connected");
      const v1 = await writer.write(routes(1), record, undefined);
      await until(() => seen.length === 1, "version 1 seen");
      await proxy.cut();
      await until(() => disconnected >= 1, "watch disconnected");
      // Written while the watch cannot see them: they must arrive once it is back.
      const v2 = await writer.write(routes(2), record, v1);
      await writer.write(routes(3), record, v2);
      await proxy.restore();
      await until(() => seen.length === 3, "versions 2 and 3 delivered after reconnecting");
      assert.deepEqual(seen, [1, 2, 3]);
    } finally {
      await watcher.cancel().catch(() => {});
      await proxy.close();
    }
  });

  it("the follower keeps the newest by revision: history started over (version 1 written last) while version 2 waits", async () => {
    const store = open("/follow/");
    const v1 = await store.write(routes(1), record, undefined);
    const offered: number[] = [];
    const handed: CurrentVersion[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const follower = new EtcdFollower(store, {
      known: (current) => {
        offered.push(current.revision);
        return handed.some((version) => version.revision === current.revision);
      },
      empty: async () => {},
      malformed: (error) => assert.fail(error),
      wentBack: () => false,
      apply: async (current) => {
        handed.push(current);
        if (handed.length === 1) await gate;
      },
      reachable: () => {},
    });
    const until = async (check: () => boolean, what: string) => {
      for (let i = 0; i < 250 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(check(), what);
    };
    try {
      await until(() => handed.length === 1, "version 1 handed over");
      // While version 1 is being applied: version 2, then version 1 again (etcd started over).
      await store.write(routes(2), record, v1);
      const again = JSON.stringify({ ...v1, revision: undefined, writeId: "again" });
      const restart = Number((await raw.put("/follow/current").value(again)).header.revision);
      await until(() => offered.includes(restart), "the restart offered");
      release();
      await until(() => handed.length === 2, "the newest handed over");
      assert.equal(handed[1]!.revision, restart);
      assert.equal(handed[1]!.version, 1);
    } finally {
      release();
      follower.close();
    }
  });

  it("etcd restored from a backup (a lower version at a lower revision): every node takes it when it reconnects and watches from there; changes go on", async () => {
    const backup = await startEtcdServer();
    const proxy = await startCuttableProxy(etcd.port);
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-etcd-restore-"));
    const file = join(dir, "node.yaml");
    const route = (name: string) => ({ name, match: { paths: [`/${name}`] }, service: "s" });
    const services = [{ name: "s", targets: [{ url: "http://127.0.0.1:9" }] }];
    writeFileSync(
      file,
      [
        "gateway:",
        "  listen: [{ host: 127.0.0.1, port: 0 }]",
        "  status: { port: 0 }",
        "  admin: { port: 0 }",
        "  accessLog: { enabled: false }",
        `  configStore: { etcd: { endpoints: ["${proxy.url}"], prefix: /restore/, timeout: 500ms } }`,
        `services: ${JSON.stringify(services)}`,
        `routes: [${JSON.stringify(route("seeded"))}]`,
      ].join("\n"),
    );
    // The backup: version 1 at a low revision; the live etcd: revisions far past it.
    const old = new EtcdConfigStore(settings(backup.url, "/restore/"), 20);
    await old.write({ services, routes: [route("from-backup")] }, record, undefined);
    old.close();
    for (let i = 0; i < 20; i++) await raw.put("/restore-padding").value(String(i));
    const nodes = [await startGatehouseNode(file), await startGatehouseNode(file)];
    const [writer, follower] = nodes as [GatehouseNode, GatehouseNode];
    const allAt = async (version: number) => {
      for (let i = 0; i < 250; i++) {
        const versions = await Promise.all(
          nodes.map(async (node) => (await node.admin("GET", "/config/versions")).body.current),
        );
        if (versions.every((current) => current === version)) return;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.fail(`not every node at version ${version}`);
    };
    try {
      for (const name of ["two", "three"])
        assert.equal((await writer.admin("POST", "/routes", route(name))).status, 201);
      await allAt(3);
      proxy.retarget(backup.port);
      await proxy.cut();
      await proxy.restore();
      // Each node's catch-up read, once reconnected, finds the older version current.
      await allAt(1);
      for (const node of nodes)
        assert.match(node.output(), /etcd's config history started over \(version 1 after 3/);
      const created = await writer.admin("POST", "/routes", route("four"));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      // The follower's watch starts again from the backup's revision (its old one is beyond).
      await allAt(2);
      const { body } = await follower.admin("GET", "/config");
      assert.deepEqual(
        body.routes.map((r: { name: string }) => r.name),
        ["from-backup", "four"],
      );
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
      await proxy.close();
      await backup.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("etcd cache file", () => {
  it("writes in order, and an older version asked for after a newer one never replaces it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-etcd-cache-"));
    try {
      const writer = new EtcdCacheWriter(join(dir, "cache.json"));
      const cached = (version: number, count: number) => ({
        current: { version, hash: "h", writeId: "w", chunks: 1, ...record, revision: version },
        sections: routes(count, 100),
      });
      // At once, as the watch's and the admin API's paths can: a large (slow) version 2, then
      // a small version 3; then version 5, and version 4 asked for after it.
      await Promise.all([writer.write(cached(2, 20_000)), writer.write(cached(3, 1))]);
      assert.equal((await readEtcdCache(writer.file))!.current.version, 3);
      await Promise.all([writer.write(cached(5, 1)), writer.write(cached(4, 20_000))]);
      assert.equal((await readEtcdCache(writer.file))!.current.version, 5);
      // etcd's history started over: a lower version replaces it.
      await writer.write(cached(1, 1), true);
      assert.equal((await readEtcdCache(writer.file))!.current.version, 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("etcd config store with etcd auth", () => {
  it("reads and writes as its user, within the prefix it was granted; wrong credentials are 'unavailable'", async () => {
    const etcd = await startEtcdServer();
    const stores: EtcdConfigStore[] = [];
    try {
      // Users, roles and auth set up through etcd's own API, as etcdctl would.
      const admin = new Etcd3({ hosts: etcd.url });
      try {
        await admin.user("root").create("root-secret");
        await admin.role("root").create();
        await admin.user("root").addRole("root");
        await admin.user("gatehouse").create("gatehouse-secret");
        await admin.role("gatehouse").create();
        await admin
          .role("gatehouse")
          .grant({ permission: "Readwrite", range: Range.prefix("/secure/") });
        await admin.user("gatehouse").addRole("gatehouse");
        await admin.auth.authEnable();
      } finally {
        admin.close();
      }
      const open = (prefix: string, password: string) => {
        const auth = { username: "gatehouse", password };
        const store = new EtcdConfigStore({ ...settings(etcd.url, prefix), auth }, 20);
        stores.push(store);
        return store;
      };
      const store = open("/secure/", "gatehouse-secret");
      const written = await store.write(routes(2), record, undefined);
      assert.deepEqual(await store.readDocument((await store.readCurrent())!), routes(2));
      assert.equal(written.version, 1);
      await assert.rejects(
        open("/other/", "gatehouse-secret").readCurrent(),
        StoreUnavailableError,
      );
      await assert.rejects(open("/secure/", "wrong").readCurrent(), StoreUnavailableError);
    } finally {
      for (const store of stores) store.close();
      await etcd.remove();
    }
  });
});

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl. */
function makeCertificates(dir: string) {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  const key = (name: string) =>
    openssl(
      "req",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      `${name}.key`,
      "-out",
      `${name}.csr`,
      "-subj",
      `/CN=${name}`,
    );
  openssl(
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    "1",
    "-subj",
    "/CN=test-ca",
  );
  for (const name of ["server", "client"]) {
    key(name);
    writeFileSync(join(dir, `${name}.ext`), "subjectAltName=IP:127.0.0.1\n");
    openssl(
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      `${name}.pem`,
      "-days",
      "1",
      "-extfile",
      `${name}.ext`,
    );
  }
  const path = (file: string) => join(dir, file);
  return {
    ca: path("ca.pem"),
    server: { ca: path("ca.pem"), cert: path("server.pem"), key: path("server.key") },
    client: { cert: path("client.pem"), key: path("client.key") },
  };
}

describe("etcd config store over TLS", () => {
  it("talks to an https etcd that asks for a client certificate, with tls.ca/cert/key", async () => {
    const dir = mkdtempSync(join(tmpdir(), "gatehouse-etcd-tls-"));
    const certificates = makeCertificates(dir);
    const etcd = await startEtcdServer(certificates.server);
    const stores: EtcdConfigStore[] = [];
    try {
      assert.match(etcd.url, /^https:/);
      const open = (tls: EtcdSettings["tls"]) => {
        const store = new EtcdConfigStore({ ...settings(etcd.url, "/tls/"), tls }, 20);
        stores.push(store);
        return store;
      };
      const store = open({ ca: certificates.ca, ...certificates.client });
      await store.write(routes(3), record, undefined);
      assert.deepEqual(await store.readDocument((await store.readCurrent())!), routes(3));
      // Without a client certificate etcd refuses the connection: the store is unavailable.
      await assert.rejects(open({ ca: certificates.ca }).readCurrent(), StoreUnavailableError);
    } finally {
      for (const store of stores) store.close();
      await etcd.remove();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
