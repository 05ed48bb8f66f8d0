// docs/dashboard.md, as written: the config of "Opening it" starts a gateway whose admin
// listener serves the page at /ui/ and takes the two keys it lists (one read-only); the
// pictures its sections show exist; and the screenshot command names the variable the
// browser tests read and test files that exist.
import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, matchesGlob } from "node:path";
import { after, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { type AdminGateway, removeDir, startAdminGateway } from "../helpers/admin.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const doc = await readFile(join(root, "docs/dashboard.md"), "utf8");

/** The text of the section under `## title`, up to the next `## `. */
function section(title: string): string {
  const start = doc.indexOf(`\n## ${title}\n`);
  assert.ok(start >= 0, `docs/dashboard.md has a "${title}" section`);
  const end = doc.indexOf("\n## ", start + 1);
  return doc.slice(start, end < 0 ? undefined : end);
}

const blocks = (text: string, lang: string) =>
  [...text.matchAll(new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``, "g"))].map((m) => m[1]!);

const keys = {
  GATEHOUSE_ADMIN_KEY: "ops-key-from-the-dashboard-docs",
  GATEHOUSE_VIEWER_KEY: "viewer-key-from-the-dashboard-docs",
};

describe("docs/dashboard.md", () => {
  let gateway: AdminGateway | undefined;
  after(async () => {
    await gateway?.stop();
    if (gateway) await removeDir(gateway.dir);
    for (const name of Object.keys(keys)) delete process.env[name];
  });

  it("Opening it: the config serves the page and takes its two keys, one read-only", async () => {
    const [config] = blocks(section("Opening it"), "yaml");
    assert.ok(config, "a config example");
    Object.assign(process.env, keys);
    gateway = await startAdminGateway(
      config
        .replace("{ host: 0.0.0.0, port: 8080 }", "{ host: 127.0.0.1, port: 0 }")
        .replace("port: 9902", "port: 0"),
    );
    const origin = `http://127.0.0.1:${gateway.gateway.addresses().admin!.port}`;
    const page = await fetch(`${origin}/ui/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>Gatehouse<\/title>/);
    const caller = async (key?: string) => {
      const answer = await fetch(`${origin}/caller`, {
        headers: key ? { authorization: `Bearer ${key}` } : {},
      });
      return { status: answer.status, body: await answer.json() };
    };
    assert.equal((await caller()).status, 401);
    assert.deepEqual((await caller(keys.GATEHOUSE_ADMIN_KEY)).body, {
      actor: "ops",
      readOnly: false,
    });
    assert.deepEqual((await caller(keys.GATEHOUSE_VIEWER_KEY)).body, {
      actor: "viewer",
      readOnly: true,
    });
  });

  it("shows pictures that exist", () => {
    const sections = ["Opening it", "Overview", "Upstreams"].map(section).join("\n");
    const images = [...sections.matchAll(/!\[[^\]]*\]\((images\/[^)]+)\)/g)].map((m) => m[1]!);
    assert.deepEqual(images.sort(), [
      "images/login.png",
      "images/overview-dark.png",
      "images/overview-phone.png",
      "images/overview.png",
      "images/upstreams.png",
    ]);
    for (const image of images) assert.ok(existsSync(join(root, "docs", image)), image);
  });

  it("Screenshots: the command names the tests' variable and test files that exist", async () => {
    const [command] = blocks(section("Screenshots"), "sh");
    assert.ok(command, "a command");
    const helper = await readFile(join(root, "test/helpers/dashboard.ts"), "utf8");
    const variable = /^(\w+)=1 npx node --test /.exec(command)?.[1];
    assert.ok(variable && helper.includes(`process.env.${variable} === "1"`), command);
    const files = readdirSync(join(root, "test/e2e")).map((name) => `test/e2e/${name}`);
    const globs = command.trim().split(" ").slice(4);
    assert.ok(
      files.some((file) => matchesGlob(file, globs[0]!)),
      `${globs[0]} matches the dashboard's tests`,
    );
  });
});
