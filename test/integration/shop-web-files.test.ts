// The shop's static-file handler (examples/shop/services/web-files.ts) over a real socket:
// the front end's files with their content types and cache validators, and every way a path
// could try to leave the folder refused.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { webFolder } from "../../examples/shop/services/web.ts";
import { createStaticHandler, requestPath } from "../../examples/shop/services/web-files.ts";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request: node:http sends the path as given, without normalising `..` away. */
function get(
  port: number,
  path: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path, method: options.method ?? "GET", headers: options.headers },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
        });
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error(`no answer for ${path}`)));
    req.on("error", reject);
    req.end();
  });
}

async function serve(folder: string) {
  const server = createServer(createStaticHandler(folder));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe("the shop's web files", () => {
  let port: number;
  let close: () => void;
  before(async () => {
    const served = await serve(webFolder);
    port = served.port;
    close = () => served.server.close();
  });
  after(() => close());

  it("serves index.html at / and each asset with its content type", async () => {
    const index = await get(port, "/");
    assert.equal(index.status, 200);
    assert.equal(index.headers["content-type"], "text/html; charset=utf-8");
    assert.match(index.body, /<title>Gatehouse Shop<\/title>/);
    assert.equal(index.headers["x-content-type-options"], "nosniff");
    assert.match(String(index.headers["content-security-policy"]), /default-src 'self'/);
    const expected: Record<string, string> = {
      "/app.js": "text/javascript; charset=utf-8",
      "/styles.css": "text/css; charset=utf-8",
      "/index.html?v=2": "text/html; charset=utf-8",
    };
    for (const [path, type] of Object.entries(expected)) {
      const answer = await get(port, path);
      assert.equal(answer.status, 200, path);
      assert.equal(answer.headers["content-type"], type, path);
      assert.equal(answer.headers["content-length"], String(Buffer.byteLength(answer.body)), path);
    }
  });

  it("lets the browser revalidate: no-cache with an ETag, 304 for a current copy", async () => {
    const first = await get(port, "/app.js");
    assert.equal(first.headers["cache-control"], "no-cache");
    const etag = String(first.headers.etag);
    assert.match(etag, /^W\/"[0-9a-f]+-[0-9a-f]+"$/);
    const again = await get(port, "/app.js", { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
    assert.equal(again.body, "");
    const since = String(first.headers["last-modified"]);
    assert.equal(
      (await get(port, "/app.js", { headers: { "if-modified-since": since } })).status,
      304,
    );
    const stale = await get(port, "/app.js", { headers: { "if-none-match": 'W/"0-0"' } });
    assert.equal(stale.status, 200);
    assert.equal(stale.body, first.body);
  });

  it("answers HEAD without a body and other methods with 405 and Allow", async () => {
    const head = await get(port, "/styles.css", { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.body, "");
    assert.ok(Number(head.headers["content-length"]) > 0);
    const post = await get(port, "/", { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.allow, "GET, HEAD");
  });

  it("answers 404 for a file that is not there", async () => {
    assert.equal((await get(port, "/nope.js")).status, 404);
  });
});

describe("paths that would leave the folder", () => {
  const scratch = mkdtempSync(join(tmpdir(), "shop-web-files-"));
  const site = join(scratch, "site");
  let port: number;
  let close: () => void;
  before(async () => {
    mkdirSync(join(site, "docs"), { recursive: true });
    writeFileSync(join(site, "index.html"), "<p>home</p>");
    writeFileSync(join(site, "docs", "index.html"), "<p>docs</p>");
    writeFileSync(join(site, ".env"), "SECRET=1");
    writeFileSync(join(scratch, "secret.txt"), "outside");
    symlinkSync(join(scratch, "secret.txt"), join(site, "link.txt"));
    symlinkSync(scratch, join(site, "up"));
    const served = await serve(site);
    port = served.port;
    close = () => served.server.close();
  });
  after(() => {
    close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("serves a sub-folder's index.html", async () => {
    assert.equal((await get(port, "/docs/")).body, "<p>docs</p>");
    assert.equal((await get(port, "/docs")).body, "<p>docs</p>");
  });

  it("never answers a file outside the folder, nor a dot file", async () => {
    for (const path of [
      "/../secret.txt",
      "/docs/../../secret.txt",
      "/%2e%2e/secret.txt",
      "/..%2fsecret.txt",
      "/..%5csecret.txt",
      "/link.txt",
      "/up/secret.txt",
      "/.env",
      "/index.html%00.txt",
      "/%E0%A4%A",
    ]) {
      const answer = await get(port, path);
      assert.ok(answer.status === 400 || answer.status === 404, `${path}: ${answer.status}`);
      assert.doesNotMatch(answer.body, /outside|SECRET/, path);
    }
  });

  it("resolves request paths inside the folder", () => {
    assert.equal(requestPath("/"), "index.html");
    assert.equal(requestPath("/a/./b.js?x=1"), "a/b.js");
    assert.equal(requestPath("/a%20b.css"), "a b.css");
    assert.equal(requestPath("/a/../b"), undefined);
    assert.equal(requestPath("http://elsewhere/"), undefined);
  });
});
