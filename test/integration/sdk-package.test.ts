// `gatehouse-gateway/sdk` resolves where users import it: in this clone with no build (the
// package's exports name the TypeScript sources, which Node 24 runs by stripping types), and
// from the published package (packed with its pack scripts, installed in a fresh folder, run
// by plain `node`: the exports then name dist/, since Node strips no types under
// node_modules). The installed SDK is used for real there: it registers with a registry,
// its lease worker runs from dist/, and a client calls the registered instance; and a
// gateway made by the installed package serves the dashboard at /ui/.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { promisify } from "node:util";
import * as fromPackageName from "gatehouse-gateway/sdk";
import * as fromSource from "../../src/sdk/index.ts";
import { packCheckout, userShellEnv } from "../helpers/packed-package.ts";
import { type RegistryStub, startRegistryStub } from "../helpers/registry-stub-server.ts";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));

describe("gatehouse-gateway/sdk in this clone", () => {
  it("resolves to the TypeScript sources, whether or not dist/ was built", () => {
    assert.equal(
      import.meta.resolve("gatehouse-gateway/sdk"),
      pathToFileURL(join(root, "src/sdk/index.ts")).href,
    );
    assert.equal(fromPackageName, fromSource, "one module, not a second copy");
    assert.equal(typeof fromPackageName.register, "function");
    assert.equal(
      import.meta.resolve("gatehouse-gateway"),
      pathToFileURL(join(root, "src/index.ts")).href,
    );
  });
});

/** What the user's script prints: a call through the installed SDK, and where it came from. */
const userScript = `
import { createServer } from "node:http";
import { register, serviceClient, ServiceCallError } from "gatehouse-gateway/sdk";
import { createGateway } from "gatehouse-gateway";

const server = createServer((req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify({ path: req.url }));
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const registration = await register({
  name: "packed", port: server.address().port, registry: process.env.REGISTRY, handleSignals: false,
});
const client = serviceClient("packed", { registry: process.env.REGISTRY });
const answer = await client.get("/hello");
await client.close();
await registration.close();
server.close();
// The dashboard, served by the installed package's admin listener from its src/admin/ui/.
const gateway = await createGateway({
  gateway: { listen: [{ host: "127.0.0.1", port: 0 }], admin: { host: "127.0.0.1", port: 0 } },
});
const ui = \`http://127.0.0.1:\${gateway.addresses().admin.port}/ui/\`;
const page = await fetch(ui);
const pageText = await page.text();
const app = await fetch(\`\${ui}app.js\`);
await app.text();
// Library files, from the installed package's own dependencies.
const vendor = await Promise.all(
  ["vendor/diff/diff/line.js", "vendor/yaml/index.js"].map(async (path) => {
    const answer = await fetch(ui + path);
    await answer.text();
    return answer.status;
  }),
);
await gateway.stop();
console.log(JSON.stringify({
  dashboard: { page: page.status, loadsApp: pageText.includes('src="app.js"'), app: app.status, vendor },
  answer,
  lease: registration.lease,
  sdk: import.meta.resolve("gatehouse-gateway/sdk"),
  main: import.meta.resolve("gatehouse-gateway"),
  classes: [typeof ServiceCallError, typeof createGateway],
}));
`;

describe("gatehouse-gateway/sdk from the packed package", () => {
  let parent: string;
  let stub: RegistryStub;

  before(async () => {
    parent = await mkdtemp(join(tmpdir(), "gatehouse-sdk-user-"));
    stub = await startRegistryStub();
  });

  after(async () => {
    await stub?.close();
    if (parent) await rm(parent, { recursive: true, force: true });
  });

  it("is built, packed, installed and run by plain node, the exports naming dist/", async () => {
    const started = Date.now();
    const tarball = await packCheckout(parent);
    const project = join(parent, "app");
    await run("mkdir", [project]);
    await writeFile(join(project, "package.json"), '{ "name": "app", "private": true }\n');
    await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], {
      cwd: project,
      env: userShellEnv(),
      timeout: 90_000,
    });
    const installed = join(project, "node_modules", "gatehouse-gateway");
    const manifest = JSON.parse(await readFile(join(installed, "package.json"), "utf8"));
    assert.deepEqual(manifest.exports["./sdk"], {
      types: "./dist/sdk/index.d.ts",
      default: "./dist/sdk/index.js",
    });
    for (const file of ["dist/sdk/index.js", "dist/sdk/index.d.ts", "dist/sdk/lease-worker.js"]) {
      assert.ok(existsSync(join(installed, file)), `${file} is in the package`);
    }
    assert.ok(!existsSync(join(installed, "src/sdk")), "no TypeScript sources shipped");
    assert.ok(existsSync(join(installed, "src/admin/ui/index.html")), "the dashboard is shipped");

    await writeFile(join(project, "use-sdk.mjs"), userScript);
    const { stdout } = await run("node", ["use-sdk.mjs"], {
      cwd: project,
      env: { ...userShellEnv(), REGISTRY: stub.url },
      timeout: 20_000,
    });
    const result = JSON.parse(stdout);
    assert.deepEqual(result.answer, { path: "/hello" });
    assert.equal(result.lease.service, "packed");
    assert.equal(result.sdk, pathToFileURL(join(installed, "dist/sdk/index.js")).href);
    assert.equal(result.main, pathToFileURL(join(installed, "dist/index.js")).href);
    assert.deepEqual(result.classes, ["function", "function"]);
    assert.deepEqual(result.dashboard, { page: 200, loadsApp: true, app: 200, vendor: [200, 200] });
    assert.deepEqual(stub.instances("packed"), [], "deregistered on close()");
    // The whole round (build, pack, install, run) is meant to stay near a minute.
    const seconds = (Date.now() - started) / 1000;
    assert.ok(seconds < 90, `took ${seconds} s`);
  });
});
