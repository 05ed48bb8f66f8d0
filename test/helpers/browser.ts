/**
 * @module test/helpers/browser
 * Runs a script in a real headless Chromium, on a page served from its own loopback origin,
 * and returns what the script reports back. The page posts its result to the server that
 * served it (same origin, so CORS never touches the report itself).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const candidates = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"];

/** The Chromium on PATH; throws with how to install one when there is none. */
export function chromiumBinary(): string {
  for (const name of candidates) {
    if (spawnSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" }).status === 0)
      return name;
  }
  throw new Error(
    "chromium not found: install it with `apt-get install -y chromium` (.ci/run does this)",
  );
}

/** A page origin to run scripts from; `run` loads a page with `script` and awaits its report. */
export interface BrowserPage {
  origin: string;
  run(script: string, timeoutMs?: number): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * Serves pages on a free loopback port. The script runs as an async function body and its
 * return value (or thrown error message) is the report.
 */
export async function startBrowserPage(): Promise<BrowserPage> {
  const binary = chromiumBinary();
  const scripts = new Map<string, string>();
  const reports = new Map<string, (report: unknown) => void>();
  const server = createServer((req, res) => {
    const [path, id = ""] = (req.url ?? "").slice(1).split("/");
    if (req.method === "GET" && path === "page" && scripts.has(id)) {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(page(id, scripts.get(id)!));
      return;
    }
    if (req.method === "POST" && path === "report" && reports.has(id)) {
      let body = "";
      req.setEncoding("utf8");
      req.on("data", (chunk: string) => {
        body += chunk;
      });
      req.on("end", () => {
        res.end();
        reports.get(id)!(JSON.parse(body));
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  let next = 0;

  return {
    origin,
    async run(script, timeoutMs = 20_000) {
      const id = String(next++);
      scripts.set(id, script);
      const profile = mkdtempSync(join(tmpdir(), "gatehouse-chromium-"));
      const browser = spawn(
        binary,
        [
          "--headless=new",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-dev-shm-usage",
          "--no-first-run",
          "--no-default-browser-check",
          `--user-data-dir=${profile}`,
          `${origin}/page/${id}`,
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let stderr = "";
      browser.stderr!.on("data", (chunk: Buffer) => {
        stderr = (stderr + chunk.toString()).slice(-4_000);
      });
      const exited = new Promise<void>((resolve) => browser.once("exit", () => resolve()));
      try {
        return await new Promise<unknown>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`the page did not report in ${timeoutMs} ms:\n${stderr}`)),
            timeoutMs,
          );
          reports.set(id, (report) => {
            clearTimeout(timer);
            resolve(report);
          });
          browser.once("error", reject);
        });
      } finally {
        browser.kill("SIGKILL");
        await exited;
        reports.delete(id);
        scripts.delete(id);
        // Chromium's helper processes may still write into the profile as the main one
        // ends: the removal retries rather than failing on a directory not empty yet.
        rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function page(id: string, script: string): string {
  return `<!doctype html><meta charset="utf-8"><title>gatehouse test</title><script>
(async () => {
  let report;
  try { report = { value: await (async () => { ${script} })() }; }
  catch (error) { report = { error: String(error && error.message || error) }; }
  await fetch("/report/${id}", { method: "POST", body: JSON.stringify(report) });
})();
</script>`;
}
