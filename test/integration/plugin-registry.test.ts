// Each gateway knows its own plugins: two gateways in one process run different plugins
// under one name, a plugin given to one is unknown to another, one registered on a running
// gateway serves from its next config, and the deprecated process-wide registerPlugin
// still reaches gateways created after it.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { request } from "undici";
import { z } from "zod";
import type { ConfigError } from "../../src/config/load.ts";
import { Gateway } from "../../src/gateway.ts";
import { createGateway } from "../../src/index.ts";
import { definePlugin } from "../../src/pipeline/plugin.ts";
import { createPluginRegistry, registerPlugin } from "../../src/plugins/index.ts";
import { FileProvider } from "../../src/providers/file.ts";
import { parseGatewayConfig, validateConfigFile } from "../../src/runtime/validate.ts";
import { testConfig } from "../helpers/gateway.ts";
import { echo, startUpstream, type Upstream } from "../helpers/upstream.ts";

/** A plugin named `name` that stamps `x-stamp: value` on the upstream request. */
const stamp = (name: string, value: string) =>
  definePlugin({
    name,
    schema: z.strictObject({}),
    priority: 10,
    create: () => ({ beforeUpstream: (ctx) => ctx.setUpstreamHeader("x-stamp", value) }),
  });

const configNaming = (upstream: string, plugin: string) =>
  testConfig({
    services: [{ name: "s", targets: [{ url: upstream }] }],
    routes: [{ name: "r", match: { paths: ["/*"] }, service: "s", plugins: [{ name: plugin }] }],
  });

/** The `x-stamp` the upstream saw for one request through `gateway`. */
async function stampThrough(gateway: Gateway): Promise<string | undefined> {
  const res = await request(`http://127.0.0.1:${gateway.addresses().proxy[0]!.port}/x`);
  const seen = (await res.body.json()) as { headers: Record<string, string | undefined> };
  return seen.headers["x-stamp"];
}

describe("a plugin registry per gateway", () => {
  let up: Upstream;
  const gateways: Gateway[] = [];

  before(async () => {
    up = await startUpstream(echo);
  });

  after(async () => {
    await Promise.all(gateways.map((gateway) => gateway.stop()));
    await up?.close();
  });

  it("runs each gateway's own plugin under one name, and no other gateway knows it", async () => {
    const config = configNaming(up.url, "stamp");
    const blue = await createGateway(config, { plugins: [stamp("stamp", "blue")] });
    gateways.push(blue);
    const green = await createGateway(config, { plugins: [stamp("stamp", "green")] });
    gateways.push(green);
    assert.deepEqual([await stampThrough(blue), await stampThrough(green)], ["blue", "green"]);
    await assert.rejects(createGateway(config), (error: ConfigError) => {
      assert.match(
        error.problems.map((problem) => problem.message).join("\n"),
        /unknown plugin "stamp"/,
      );
      return true;
    });
  });

  it("takes a plugin registered on the running gateway in its next config", async () => {
    const dir = await mkdtemp(join(tmpdir(), "gatehouse-registry-"));
    try {
      const file = join(dir, "gatehouse.yaml");
      await writeFile(file, JSON.stringify(configNaming(up.url, "security-headers")));
      const plugins = createPluginRegistry();
      const gateway = new Gateway(await validateConfigFile(file, {}, undefined, plugins), {
        plugins,
      });
      gateways.push(gateway);
      await gateway.start();
      const provider = new FileProvider({
        file,
        control: gateway.control,
        startup: gateway.runtime.config,
        plugins: gateway.plugins,
      });
      await writeFile(file, JSON.stringify(configNaming(up.url, "late-stamp")));
      const refused = await provider.reload("SIGHUP");
      assert.equal(refused.result, "refused", "not known yet");
      gateway.plugins.register(stamp("late-stamp", "late"));
      assert.equal((await provider.reload("SIGHUP")).result, "applied");
      assert.equal(await stampThrough(gateway), "late");
      provider.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("still reaches gateways created after the deprecated registerPlugin", async () => {
    registerPlugin(stamp("process-stamp", "process"));
    const text = JSON.stringify(configNaming(up.url, "process-stamp"));
    const gateway = new Gateway(parseGatewayConfig(text, "gatehouse.yaml", {}));
    gateways.push(gateway);
    await gateway.start();
    assert.equal(await stampThrough(gateway), "process");
    assert.equal(gateway.plugins.get("process-stamp")?.name, "process-stamp");
  });
});
