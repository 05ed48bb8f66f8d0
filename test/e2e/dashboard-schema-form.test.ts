// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the form is given literal ${env:…} references
/**
 * The dashboard's schema form in Chromium, on a schema with one option of each shape it
 * knows: what a user types comes back as the smallest document that says it (numbers as
 * numbers, `${env:…}` as text, empty fields left out), defaults only when asked for, a
 * document shown and read back unchanged, and problems shown at their fields.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { type AdminGateway, removeDir, startAdminGateway } from "../helpers/admin.ts";
import { closeBrowser, type DashboardPage, openDashboard } from "../helpers/dashboard.ts";

const env = {
  type: "string",
  pattern: "^\\$\\{env:[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\\}$",
  description: "A reference.",
};
const schema = {
  type: "object",
  required: ["name"],
  additionalProperties: false,
  properties: {
    name: { type: "string", description: "The name." },
    count: { anyOf: [{ type: "integer" }, env], default: 3, description: "How many." },
    mode: { type: "string", enum: ["fast", "safe"], default: "safe" },
    enabled: { type: "boolean" },
    tags: { type: "array", items: { type: "string" } },
    labels: { type: "object", additionalProperties: { type: "string" } },
    targets: {
      type: "array",
      items: {
        type: "object",
        properties: { url: { type: "string" }, weight: { type: "integer", default: 1 } },
        required: ["url"],
      },
    },
    key: {
      anyOf: [
        { type: "string", enum: ["ip", "route"] },
        { type: "object", properties: { header: { type: "string" } }, required: ["header"] },
      ],
    },
    extra: { type: "object", properties: { deep: { type: "string", default: "x" } } },
  },
};

/** Shows a form for the schema above, filled with `value`, as `globalThis.form`. */
async function showForm(dashboard: DashboardPage, value: unknown): Promise<void> {
  await dashboard.page.evaluate(`(async () => {
    const { schemaForm } = await import("/ui/schema-form.js");
    globalThis.form = schemaForm(${JSON.stringify(schema)}, ${JSON.stringify(value ?? null)} ?? {});
    document.getElementById("view").replaceChildren(globalThis.form.element);
  })()`);
}

const read = (dashboard: DashboardPage) => dashboard.page.evaluate("globalThis.form.getValue()");

describe("the dashboard's schema form", () => {
  let gateway: AdminGateway;
  let dashboard: DashboardPage;

  before(async () => {
    gateway = await startAdminGateway(`
gateway:
  listen: [{ host: 127.0.0.1, port: 0 }]
  admin: { host: 127.0.0.1, port: 0 }
  log: { level: warn }
`);
    const origin = `http://127.0.0.1:${gateway.gateway.addresses().admin!.port}`;
    dashboard = await openDashboard({ origin, hash: "#/plugins" });
    await dashboard.page.getByText("No plugins yet.").waitFor();
  });
  after(async () => {
    await closeBrowser();
    await gateway?.stop();
    await removeDir(gateway.dir);
  });

  it("reads back what was typed, as the schema's types, and nothing else", async () => {
    await showForm(dashboard, undefined);
    const { page } = dashboard;
    assert.deepEqual(await read(dashboard), {});
    await page.getByLabel("name", { exact: true }).fill("one");
    await page.getByLabel("count", { exact: true }).fill("7");
    await page.getByLabel("mode", { exact: true }).selectOption("fast");
    await page.getByLabel("enabled", { exact: true }).selectOption("false");
    await page.getByRole("button", { name: "Add tags" }).click();
    await page.getByLabel("tags 1", { exact: true }).fill("blue");
    await page.getByRole("button", { name: "Add tags" }).click();
    await page.getByLabel("tags 2", { exact: true }).fill("green");
    await page.getByRole("button", { name: "Add labels" }).click();
    await page.getByLabel("labels 1 name", { exact: true }).fill("team");
    await page.getByLabel("labels 1 value", { exact: true }).fill("core");
    await page.getByRole("button", { name: "Add targets" }).click();
    await page.getByLabel("url", { exact: true }).fill("http://127.0.0.1:9");
    await page.getByLabel("key as", { exact: true }).selectOption("{ header }");
    await page.getByLabel("header", { exact: true }).fill("x-key");
    assert.deepEqual(await read(dashboard), {
      name: "one",
      count: 7,
      mode: "fast",
      enabled: false,
      tags: ["blue", "green"],
      labels: { team: "core" },
      targets: [{ url: "http://127.0.0.1:9" }],
      key: { header: "x-key" },
    });
    await page.getByRole("button", { name: "Remove tags 1" }).click();
    await page.getByLabel("count", { exact: true }).fill("${env:COUNT}");
    await page.getByLabel("key as", { exact: true }).selectOption("a value");
    await page.getByLabel("key", { exact: true }).selectOption("route");
    const after = (await read(dashboard)) as Record<string, unknown>;
    assert.deepEqual([after.tags, after.count, after.key], [["green"], "${env:COUNT}", "route"]);
  });

  it("fills in defaults only when asked, and only in the groups shown", async () => {
    const value = { name: "two", targets: [{ url: "http://a" }] };
    await showForm(dashboard, value);
    const count = dashboard.page.getByLabel("count", { exact: true });
    assert.equal(await count.getAttribute("placeholder"), "default: 3");
    assert.deepEqual(await read(dashboard), value);
    await dashboard.page.evaluate("globalThis.form.fillDefaults()");
    assert.deepEqual(await read(dashboard), {
      name: "two",
      count: 3,
      mode: "safe",
      targets: [{ url: "http://a", weight: 1 }],
    });
  });

  it("shows a document as it is and reads it back unchanged", async () => {
    const value = {
      name: "three",
      count: "${env:COUNT:-2}",
      tags: ["a"],
      labels: { team: "edge", tier: "1" },
      targets: [{ url: "http://a" }, { url: "http://b" }],
      key: "ip",
      extra: { deep: "y" },
    };
    await showForm(dashboard, value);
    assert.equal(await dashboard.page.getByLabel("deep", { exact: true }).inputValue(), "y");
    assert.deepEqual(await read(dashboard), value);
  });

  it("has a form for every built-in plugin, with each of its options", async () => {
    const plugins = (await dashboard.page.evaluate(`(async () => {
      const { configSchema, schemaForm } = await import("/ui/schema-form.js");
      const node = (await configSchema()).properties.plugins.items;
      return node.allOf.map((part) => {
        const name = part.if.properties.name.const;
        const form = schemaForm(node, { name });
        const options = Object.keys(part.then.properties.config.properties ?? {});
        const labels = [...form.element.querySelectorAll(".plugin-config label, .plugin-config legend, .plugin-config summary")]
          .map((label) => label.firstChild.textContent);
        return { name, read: form.getValue(), missing: options.filter((option) => !labels.includes(option)) };
      });
    })()`)) as { name: string; read: unknown; missing: string[] }[];
    assert.ok(plugins.length >= 15);
    for (const plugin of plugins) {
      assert.deepEqual(plugin.read, { name: plugin.name });
      assert.deepEqual(plugin.missing, [], `${plugin.name}: options without a field`);
    }
  });

  it("shows each problem at its field, or below the form", async () => {
    await showForm(dashboard, { name: "four", targets: [{ url: "nope" }] });
    await dashboard.page.evaluate(`globalThis.form.showProblems([
      { path: "targets[0].url", message: "not a URL" },
      { path: "labels.team", message: "no such label" },
      { path: "", message: "something about the whole" },
    ])`);
    const url = dashboard.page.getByLabel("url", { exact: true });
    assert.equal(await url.getAttribute("aria-invalid"), "true");
    const error = (await url.getAttribute("aria-describedby"))!.split(" ").at(-1);
    assert.equal(await dashboard.page.locator(`[id="${error}"]`).textContent(), "not a URL");
    await dashboard.page
      .getByRole("group", { name: "labels" })
      .getByText("no such label")
      .waitFor();
    await dashboard.page.getByRole("alert").getByText("something about the whole").waitFor();
    assert.deepEqual(dashboard.problems, []);
  });
});
