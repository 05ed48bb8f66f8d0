/**
 * @module test/helpers/dashboard
 * Opens the dashboard of a gateway started by the test in a real headless Chromium
 * (playwright-core driving the chromium on PATH), logged in with a key or not, and collects
 * what a user would notice went wrong: page errors, console errors and CSP violations.
 * Screenshots go to test-results/screenshots/ (an artefact, not committed); with
 * GATEHOUSE_UPDATE_SCREENSHOTS=1 they are also copied to docs/images/ for the docs.
 */
import { spawnSync } from "node:child_process";
import { copyFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { type AdminGateway, removeDir, startAdminGateway } from "./admin.ts";
import { chromiumBinary } from "./browser.ts";

const artefacts = join(import.meta.dirname, "..", "..", "test-results", "screenshots");
const docsImages = join(import.meta.dirname, "..", "..", "docs", "images");

/** The full path of the Chromium on PATH (playwright-core wants a path, not a name). */
export function chromiumPath(): string {
  const name = chromiumBinary();
  return spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).stdout.trim();
}

/** The keys dashboard tests log in with: `ops` may change the config, `viewer` only read it. */
export const dashboardKeys = {
  ops: "ops-key-0123456789abcdef",
  viewer: "viewer-key-0123456789abcdef",
} as const;

/**
 * The `gateway:` section of a dashboard test's config: a proxy and an admin listener on free
 * loopback ports, the ops and viewer keys (and `extraKeys`, each a YAML flow mapping), quiet
 * logs. The test's services, routes and consumers follow it.
 */
export function dashboardGatewayYaml(extraKeys: string[] = []): string {
  return `gateway:
  listen: [{ host: 127.0.0.1, port: 0 }]
  admin:
    host: 127.0.0.1
    port: 0
    keys:
      - { id: ops, key: "${dashboardKeys.ops}" }
      - { id: viewer, key: "${dashboardKeys.viewer}", readOnly: true }
${extraKeys.map((key) => `      - ${key}\n`).join("")}  log: { level: warn }
  accessLog: { enabled: false }
`;
}

/** The `gateway:` section of a dashboard test on a keyless loopback admin listener. */
export const keylessGatewayYaml = `gateway:
  listen: [{ host: 127.0.0.1, port: 0 }]
  admin: { host: 127.0.0.1, port: 0 }
  log: { level: warn }
`;

/** A gateway a dashboard test started, with its admin origin; `close` ends the test's all. */
export interface DashboardGateway extends AdminGateway {
  /** The admin listener's origin, `http://127.0.0.1:PORT`. */
  origin: string;
  /** Closes the browser, stops the gateway and removes its folder. */
  close(): Promise<void>;
}

/** Starts a gateway on the config `text` for a dashboard test. */
export async function startDashboardGateway(text: string): Promise<DashboardGateway> {
  const gateway = await startAdminGateway(text);
  return {
    ...gateway,
    origin: `http://127.0.0.1:${gateway.gateway.addresses().admin!.port}`,
    async close() {
      await closeBrowser();
      await gateway.stop();
      await removeDir(gateway.dir);
    },
  };
}

let shared: Promise<Browser> | undefined;

/** One Chromium for the whole test file; closed by `closeBrowser()` in an `after` hook. */
export function launchBrowser(): Promise<Browser> {
  shared ??= chromium.launch({
    executablePath: chromiumPath(),
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  return shared;
}

export async function closeBrowser(): Promise<void> {
  const browser = await shared;
  shared = undefined;
  await browser?.close();
}

export interface DashboardPage {
  page: Page;
  context: BrowserContext;
  /** Page errors, console errors and CSP violations seen so far. */
  problems: string[];
  /** Saves a screenshot named `name` (.png) as an artefact (and to docs/images/ when updating). */
  screenshot(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** The admin listener's origin, `http://127.0.0.1:PORT`. */
  origin: string;
  /** Logs in with this key through the login form; none: expects no login (keyless loopback). */
  key?: string;
  /** false: returns at the login dialog, without waiting to be logged in. */
  loggedIn?: boolean;
  /** The hash to open, e.g. `#/routes`; default the overview. */
  hash?: string;
  viewport?: { width: number; height: number };
  colorScheme?: "light" | "dark";
}

/** Opens the dashboard in a new browser context (its own session storage). */
export async function openDashboard(options: OpenOptions): Promise<DashboardPage> {
  const browser = await launchBrowser();
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 800 },
    colorScheme: options.colorScheme ?? "light",
  });
  // Chromium logs most CSP refusals; the event names every one, as a console error here.
  await context.addInitScript(`document.addEventListener("securitypolicyviolation", (event) =>
    console.error("CSP refused " + event.violatedDirective + " " + event.blockedURI))`);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  await page.goto(`${options.origin}/ui/${options.hash ?? ""}`);
  if (options.key !== undefined) {
    await page.getByLabel("Admin key").fill(options.key);
    await page.getByRole("button", { name: "Log in" }).click();
  }
  // Attached, not visible: the bar hides the caller's name at phone width.
  if (options.loggedIn !== false)
    await page.locator("#caller").filter({ hasText: /\S/ }).waitFor({ state: "attached" });
  return {
    page,
    context,
    problems,
    async screenshot(name) {
      await mkdir(artefacts, { recursive: true });
      const file = join(artefacts, `${name}.png`);
      await page.screenshot({ path: file });
      if (process.env.GATEHOUSE_UPDATE_SCREENSHOTS === "1") {
        await mkdir(docsImages, { recursive: true });
        await copyFile(file, join(docsImages, `${name}.png`));
      }
    },
    close: () => context.close(),
  };
}
