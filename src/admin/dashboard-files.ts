/**
 * @module admin/dashboard-files
 * Serves the dashboard (`/ui/`) from the admin listener: the files of `admin/ui/` (and the
 * few library files it uses, from node_modules), read once at start, each with an ETag, under
 * a strict Content-Security-Policy. The files need no key: the page asks for one and sends
 * it with every API call as a bearer header (no cookie, so no CSRF). No build step: the UI is
 * plain ES modules.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, extname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** The dashboard's URL prefix on the admin listener. */
export const dashboardPrefix = "/ui/";

const types: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

/**
 * Library files the UI imports, by the path it asks for under `/ui/vendor/`: the package
 * file each is read from (resolved like an import, so it works from a clone and from an
 * installed package). A path ending in `/` is a directory of ES modules that import each
 * other (`package/dir/`, from the package's root): every file of it is served.
 */
const vendor: Record<string, string> = {
  // The line diff of two texts (diff-view.js): jsdiff's ESM build.
  "diff/": "diff/libesm/",
  // YAML in the page: a version's config as GET /config?format=yaml writes it (versions.js),
  // a resource parsed and written (resource-editor.js).
  "yaml/": "yaml/browser/dist/",
};

const headers = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
  // Revalidated on each load (the ETag makes that cheap): an upgrade shows at once.
  "cache-control": "no-cache",
};

interface DashboardFile {
  type: string;
  body: Buffer;
  etag: string;
}

let files: Map<string, DashboardFile> | undefined;

function load(): Map<string, DashboardFile> {
  const loaded = new Map<string, DashboardFile>();
  const add = (path: string, file: string) => {
    const type = types[extname(file)];
    if (!type) return;
    const body = readFileSync(file);
    const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
    loaded.set(path, { type, body, etag });
  };
  // From src/admin/ in a clone and dist/admin/ in the package, which ships src/admin/ui/.
  const root = fileURLToPath(new URL("../../src/admin/ui/", import.meta.url));
  for (const file of walk(root)) add(relative(root, file).split(sep).join("/"), file);
  for (const [path, specifier] of Object.entries(vendor)) {
    if (!path.endsWith("/")) {
      add(`vendor/${path}`, fileURLToPath(import.meta.resolve(specifier)));
      continue;
    }
    // A package need not export its build's files one by one; its package.json it does.
    const [name = "", ...inside] = specifier.split("/");
    const packageRoot = dirname(fileURLToPath(import.meta.resolve(`${name}/package.json`)));
    const directory = join(packageRoot, ...inside);
    for (const file of walk(directory))
      add(`vendor/${path}${relative(directory, file).split(sep).join("/")}`, file);
  }
  return loaded;
}

function* walk(directory: string): Generator<string> {
  for (const name of readdirSync(directory)) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) yield* walk(path);
    else yield path;
  }
}

/**
 * Answers `path` (without its query) when it is the dashboard's, and says whether it did:
 * `/` and `/ui` redirect to `/ui/`, `/ui/` is the page, any other `/ui/...` a file or 404.
 */
export function serveDashboard(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  if (path === "/" || path === "/ui") {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    res.writeHead(302, { location: dashboardPrefix, "content-length": 0 }).end();
    return true;
  }
  if (!path.startsWith(dashboardPrefix)) return false;
  if (req.method !== "GET" && req.method !== "HEAD") return false;
  files ??= load();
  const name = path.length === dashboardPrefix.length ? "index.html" : path.slice(4);
  const file = files.get(name);
  if (!file) return false;
  if (req.headers["if-none-match"] === file.etag) {
    res.writeHead(304, { ...headers, etag: file.etag }).end();
    return true;
  }
  res.writeHead(200, {
    ...headers,
    "content-type": file.type,
    "content-length": file.body.length,
    etag: file.etag,
  });
  res.end(req.method === "HEAD" ? undefined : file.body);
  return true;
}

/**
 * The package files the UI's vendor files are read from: whatever installs Gatehouse (the
 * image's `npm ci --omit=dev`, the npm package) must install their packages too.
 */
export function dashboardVendorSpecifiers(): string[] {
  return Object.values(vendor);
}
