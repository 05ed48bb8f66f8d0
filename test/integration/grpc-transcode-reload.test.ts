// Hot reload of the `.proto` files a grpc-transcode entry reads, the config file untouched:
// an rpc added with a new google.api.http rule answers over JSON once the watcher sees the
// edit (and a field added to a message in an imported file shows in the answers), a broken
// edit is refused at the .proto's FILE:LINE:COL while the old bindings keep serving, and
// with watching off SIGHUP applies a proto-only edit. Each set of protos is parsed once
// per load, counted by grpc/proto-cache. A real grpc-js server answers; waits are bounded.
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { request } from "undici";
import { Gateway } from "../../src/gateway.ts";
import { protoSetsParsed } from "../../src/grpc/proto-cache.ts";
import { FileProvider, type ReloadEvent } from "../../src/providers/file.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";
import { nextReload } from "../helpers/reload-events.ts";

/** The service file; `extra` goes inside `service Notes`. */
function notesProto(extra = ""): string {
  return [
    'syntax = "proto3";',
    "package notes.v1;",
    'import "google/api/annotations.proto";',
    'import "notes/v1/note.proto";',
    "service Notes {",
    "  rpc GetNote(GetNoteRequest) returns (Note) {",
    '    option (google.api.http) = { get: "/v1/notes/{id}" };',
    "  }",
    extra,
    "}",
    "message GetNoteRequest { string id = 1; }",
    "",
  ].join("\n");
}

const echoRpc = [
  "  rpc EchoNote(Note) returns (Note) {",
  '    option (google.api.http) = { post: "/v1/notes:echo" body: "*" };',
  "  }",
].join("\n");

/** The imported message file, found through `includeDirs`. */
function noteProto(fields = ""): string {
  return `syntax = "proto3";\npackage notes.v1;\nmessage Note { string id = 1; string text = 2;${fields} }\n`;
}

/** A protobuf string field (short values only: a one-byte length). */
function stringField(field: number, value: string): Buffer {
  const bytes = Buffer.from(value);
  return Buffer.concat([Buffer.from([(field << 3) | 2, bytes.length]), bytes]);
}

/** The string fields of a message of string fields only. */
function stringFields(message: Buffer): Map<number, string> {
  const fields = new Map<number, string>();
  for (let at = 0; at < message.length; ) {
    const field = message[at]! >> 3;
    const length = message[at + 1]!;
    fields.set(field, message.subarray(at + 2, at + 2 + length).toString());
    at += 2 + length;
  }
  return fields;
}

const raw = (name: string): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/notes.v1.Notes/${name}`,
  requestStream: false,
  responseStream: false,
  requestSerialize: (b) => b,
  requestDeserialize: (b) => b,
  responseSerialize: (b) => b,
  responseDeserialize: (b) => b,
});

/**
 * A Notes server that has both rpcs whatever the gateway's protos say: GetNote answers the
 * note asked for with text "hello" and field 3 "ann" (unknown until note.proto names it),
 * EchoNote answers the note it was sent.
 */
async function startNotes() {
  const server = new grpc.Server();
  server.addService(
    { GetNote: raw("GetNote"), EchoNote: raw("EchoNote") },
    {
      GetNote: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) => {
        const id = stringFields(call.request).get(1) ?? "";
        done(
          null,
          Buffer.concat([stringField(1, id), stringField(2, "hello"), stringField(3, "ann")]),
        );
      },
      EchoNote: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) =>
        done(null, call.request),
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { url: `http://127.0.0.1:${port}`, stop: () => server.forceShutdown() };
}

/** The config; `extraRoute` adds a plain route (a change that reads no .proto anew). */
function config(target: string, watch: boolean, extraRoute = false): string {
  return [
    "gateway:",
    "  listen: [{ host: 127.0.0.1, port: 0 }]",
    "  status: { port: 0 }",
    `  reload: { watch: ${watch}, debounce: 50ms }`,
    "  accessLog: { enabled: false }",
    "  log: { level: silent }",
    `services: [{ name: notes, protocol: grpc, targets: [{ url: "${target}" }] }]`,
    "routes:",
    "  - name: notes",
    '    match: { paths: ["/v1/*"] }',
    "    service: notes",
    "    plugins:",
    "      - name: grpc-transcode",
    "        config: { protos: [protos/notes/v1/notes.proto], includeDirs: [protos] }",
    ...(extraRoute ? ['  - { name: other, match: { paths: ["/other"] }, service: notes }'] : []),
    "",
  ].join("\n");
}

interface Running {
  provider: FileProvider;
  /** Status and JSON body of a request through the gateway. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  next(match: (event: ReloadEvent) => boolean, what: string): Promise<ReloadEvent>;
  close(): Promise<void>;
}

/** Starts a gateway on `file` as `gatehouse start` does, its file provider watching if asked. */
async function run(file: string): Promise<Running> {
  const startup = await validateConfigFile(file);
  const gateway = new Gateway(startup);
  await gateway.start();
  const provider = new FileProvider({ file, control: gateway.control, startup });
  const seen: ReloadEvent[] = [];
  provider.on("reload", (event) => seen.push(event));
  const next: Running["next"] = (match, what) => nextReload(provider, match, what, seen);
  if (startup.gateway.reload.watch) {
    // Watching begins with a look at each watched file (nothing changed yet): wait it out.
    const first = next(() => true, "the look taken when watching begins");
    provider.watch();
    assert.equal((await first).result, "unchanged");
  }
  const base = `http://127.0.0.1:${gateway.addresses().proxy[0]!.port}`;
  return {
    provider,
    next,
    async call(method, path, body) {
      const res = await request(`${base}${path}`, {
        method: method as "GET",
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
      return { status: res.statusCode, body: await res.body.json() };
    },
    async close() {
      provider.close();
      await gateway.stop();
    },
  };
}

const applied = (event: ReloadEvent) => event.result === "applied";
const refused = (event: ReloadEvent) => event.result === "refused";

describe("grpc-transcode: reloading the .proto files", () => {
  let notes: Awaited<ReturnType<typeof startNotes>>;
  let dir: string;
  before(async () => {
    notes = await startNotes();
    dir = await mkdtemp(join(tmpdir(), "gatehouse-proto-reload-"));
  });
  after(async () => {
    notes?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A config and its protos in a folder of their own. */
  async function setup(name: string, watch: boolean) {
    const base = join(dir, name);
    await mkdir(join(base, "protos/notes/v1"), { recursive: true });
    const service = join(base, "protos/notes/v1/notes.proto");
    const message = join(base, "protos/notes/v1/note.proto");
    await writeFile(service, notesProto());
    await writeFile(message, noteProto());
    const file = join(base, "gatehouse.yaml");
    await writeFile(file, config(notes.url, watch));
    return { file, service, message, text: await readFile(file, "utf8") };
  }

  it("serves an rpc added to the .proto, and a field added to an imported message, the config file untouched", async () => {
    const { file, service, message, text } = await setup("watch", true);
    const gw = await run(file);
    try {
      assert.deepEqual(await gw.call("GET", "/v1/notes/7"), {
        status: 200,
        body: { id: "7", text: "hello" },
      });
      assert.equal((await gw.call("POST", "/v1/notes:echo", { id: "e" })).status, 404);

      const added = gw.next(applied, "the rpc added to notes.proto");
      await writeFile(service, notesProto(echoRpc));
      assert.equal(((await added) as { version: number }).version, 2);
      assert.deepEqual(await gw.call("POST", "/v1/notes:echo", { id: "e", text: "hi" }), {
        status: 200,
        body: { id: "e", text: "hi" },
      });

      const field = gw.next(applied, "the field added to the imported note.proto");
      await writeFile(message, noteProto(" string author = 3;"));
      assert.equal(((await field) as { version: number }).version, 3);
      assert.deepEqual((await gw.call("GET", "/v1/notes/7")).body, {
        id: "7",
        text: "hello",
        author: "ann",
      });

      const removed = gw.next(applied, "the rpc removed again");
      await writeFile(service, notesProto());
      await removed;
      assert.equal((await gw.call("POST", "/v1/notes:echo", { id: "e" })).status, 404);
      assert.equal(await readFile(file, "utf8"), text, "the config file was not touched");
    } finally {
      await gw.close();
    }
  });

  it("refuses a broken .proto at its FILE:LINE:COL; the old bindings keep serving until it is fixed", async () => {
    const { file, service } = await setup("broken", true);
    const gw = await run(file);
    try {
      const broken = gw.next(refused, "the broken notes.proto");
      // Line 13: a message without a name.
      await writeFile(service, notesProto(echoRpc).replace("message GetNoteRequest", "message"));
      const { problems } = (await broken) as { problems: string[] };
      assert.deepEqual(problems, [
        `${service}:13:9 illegal type name '{' (routes[0].plugins[0].config)`,
      ]);
      assert.deepEqual(await gw.call("GET", "/v1/notes/7"), {
        status: 200,
        body: { id: "7", text: "hello" },
      });
      assert.equal((await gw.call("POST", "/v1/notes:echo", { id: "e" })).status, 404);

      const fixed = gw.next(applied, "notes.proto fixed");
      await writeFile(service, notesProto(echoRpc));
      await fixed;
      assert.equal((await gw.call("POST", "/v1/notes:echo", { id: "e" })).status, 200);
    } finally {
      await gw.close();
    }
  });

  it("with watching off, SIGHUP applies an edit to the .proto alone", async () => {
    const { file, service } = await setup("sighup", false);
    const gw = await run(file);
    try {
      await writeFile(service, notesProto(echoRpc));
      const event = await gw.provider.reload("SIGHUP");
      assert.equal(event.result, "applied", JSON.stringify(event));
      assert.equal((await gw.call("POST", "/v1/notes:echo", { id: "e" })).status, 200);
      // Nothing changed since: nothing to apply.
      assert.equal((await gw.provider.reload("SIGHUP")).result, "unchanged");
    } finally {
      await gw.close();
    }
  });

  it("parses the protos once per load: check, files and create share the parse", async () => {
    const { file, service } = await setup("once", false);
    let before = protoSetsParsed();
    const gw = await run(file);
    try {
      assert.equal(protoSetsParsed() - before, 1, "starting: one parse");

      before = protoSetsParsed();
      await writeFile(service, notesProto(echoRpc));
      assert.equal((await gw.provider.reload("SIGHUP")).result, "applied");
      assert.equal((await gw.call("POST", "/v1/notes:echo", { id: "e" })).status, 200);
      assert.equal(protoSetsParsed() - before, 1, "a .proto edited: one parse");

      before = protoSetsParsed();
      await writeFile(file, config(notes.url, false, true));
      assert.equal((await gw.provider.reload("SIGHUP")).result, "applied");
      assert.equal(protoSetsParsed() - before, 0, "only the config file changed: no parse");
    } finally {
      await gw.close();
    }
  });
});
