// `npm start` (examples/quickstart.ts): every port moves with its environment variable, the
// lines it prints use the ports it got and answer, and a port already taken stops it with
// one line naming the variable to set, exit 1, no stack trace.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { request } from "undici";
import { exited, freePort } from "../helpers/child-process.ts";
import { until } from "../helpers/until.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const variables = [
  "GATEHOUSE_PORT",
  "GATEHOUSE_STATUS_PORT",
  "GATEHOUSE_ADMIN_PORT",
  "DEMO_USERS_PORT",
  "DEMO_PRODUCTS_PORT",
] as const;
type Ports = Record<(typeof variables)[number], string>;

const children = new Set<ChildProcess>();
after(() => {
  for (const child of children) child.kill("SIGKILL");
});

/** What `npm start` runs, with `ports` in its environment. */
function startQuickstart(ports: Ports) {
  const script = (JSON.parse(readFileSync(`${root}package.json`, "utf8")) as Json).scripts.start;
  assert.equal(script, "node examples/quickstart.ts");
  const child = spawn(process.execPath, ["examples/quickstart.ts"], {
    cwd: root,
    env: { ...process.env, ...ports },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  const output = { stdout: "", stderr: "" };
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    output.stdout += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    output.stderr += chunk;
  });
  // Never waited on for ever: one that should have stopped by itself and has not is killed.
  const deadline = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const done = exited(child).then(() => {
    clearTimeout(deadline);
    children.delete(child);
    return child.exitCode;
  });
  return { child, output, done };
}

// biome-ignore lint/suspicious/noExplicitAny: package.json, read for one field
type Json = Record<string, any>;

/** Every port on 0 (a free one) but `overrides`. */
const anyPorts = (overrides: Partial<Ports> = {}): Ports => ({
  ...(Object.fromEntries(variables.map((name) => [name, "0"])) as Ports),
  ...overrides,
});

function occupy(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

describe("npm start with a port already in use", () => {
  const what: Record<(typeof variables)[number], string> = {
    GATEHOUSE_PORT: "proxy",
    GATEHOUSE_STATUS_PORT: "status",
    GATEHOUSE_ADMIN_PORT: "admin",
    DEMO_USERS_PORT: "users",
    DEMO_PRODUCTS_PORT: "products",
  };
  for (const variable of variables) {
    it(`names ${variable} in one line and exits 1`, async () => {
      const taken = await occupy();
      try {
        const port = (taken.address() as { port: number }).port;
        const run = startQuickstart(anyPorts({ [variable]: String(port) }));
        const code = await run.done;
        assert.equal(
          run.output.stderr,
          `port ${port} (${what[variable]}, ${variable}) is in use: set ${variable} to another port\n`,
        );
        assert.equal(code, 1);
        assert.equal(run.output.stdout, "");
      } finally {
        taken.close();
      }
    });
  }

  it("refuses a value that is no port, naming the variable", async () => {
    const run = startQuickstart(anyPorts({ DEMO_USERS_PORT: "nine" }));
    assert.equal(await run.done, 1);
    assert.equal(
      run.output.stderr,
      'DEMO_USERS_PORT must be a port number (0-65535), not "nine"\n',
    );
  });
});

describe("npm start with every port moved", () => {
  it("serves on those ports, and every line it prints answers", async () => {
    const ports = {} as Ports;
    for (const variable of variables) ports[variable] = String(await freePort());
    const run = startQuickstart(ports);
    await until(
      () => run.output.stdout.includes("Press Ctrl+C to stop.") || run.child.exitCode !== null,
      "the quickstart to print its curl lines",
      20_000,
    );
    assert.equal(run.child.exitCode, null, run.output.stderr);
    const lines = run.output.stdout.split("\n").filter((line) => line.startsWith("  curl "));
    assert.equal(lines.length, 7, run.output.stdout);
    const used = new Set(lines.map((line) => /127\.0\.0\.1:(\d+)\//.exec(line)![1]));
    assert.deepEqual(
      [...used].sort(),
      [ports.GATEHOUSE_PORT, ports.GATEHOUSE_STATUS_PORT, ports.GATEHOUSE_ADMIN_PORT].sort(),
    );
    for (const line of lines) {
      const url = /(http:\/\/\S+)$/.exec(line)![1]!;
      const method = /-X (\w+)/.exec(line)?.[1] ?? "GET";
      const body = /-d '([^']*)'/.exec(line)?.[1];
      const headers = Object.fromEntries(
        [...line.matchAll(/-H '([^:]+): ([^']*)'/g)].map((match) => [match[1]!, match[2]!]),
      );
      const response = await request(url, {
        method: method as "GET",
        headers,
        ...(body !== undefined && { body }),
      });
      const text = await response.body.text();
      assert.ok(response.statusCode < 300, `${line.trim()}: ${response.statusCode} ${text}`);
    }
    // The dashboard line names the admin listener's /ui/, which serves the page.
    const dashboard = /^The dashboard: (http:\/\/\S+)$/m.exec(run.output.stdout)?.[1];
    assert.equal(dashboard, `http://127.0.0.1:${ports.GATEHOUSE_ADMIN_PORT}/ui/`);
    const page = await request(dashboard);
    assert.equal(page.statusCode, 200);
    assert.match(await page.body.text(), /<script type="module" src="app.js">/);
    // The demo services are where the variables put them (the gateway reaches them there).
    const users = await request(`http://127.0.0.1:${ports.DEMO_USERS_PORT}/health`);
    assert.equal(users.statusCode, 200);
    await users.body.dump();
    const products = await request(`http://127.0.0.1:${ports.DEMO_PRODUCTS_PORT}/health`);
    assert.equal(products.statusCode, 200);
    await products.body.dump();

    run.child.kill("SIGTERM");
    assert.equal(await run.done, 0);
  });
});

describe("README's Try it", () => {
  it("names the dashboard on the quickstart's admin port, and the dashboard's docs", () => {
    const readme = readFileSync(`${root}README.md`, "utf8");
    const tryIt = readme.slice(
      readme.indexOf("## Try it"),
      readme.indexOf("\n## ", readme.indexOf("## Try it") + 1),
    );
    const config = readFileSync(`${root}examples/quickstart.yaml`, "utf8");
    const adminPort =
      /admin: \{ host: 127\.0\.0\.1, port: "\$\{env:GATEHOUSE_ADMIN_PORT:-(\d+)\}" \}/.exec(
        config,
      )?.[1];
    assert.ok(adminPort, "examples/quickstart.yaml has the admin listener on loopback");
    assert.ok(tryIt.includes(`http://127.0.0.1:${adminPort}/ui/`), "the dashboard's URL");
    assert.ok(tryIt.includes("(docs/dashboard.md)"), "a link to docs/dashboard.md");
  });
});
