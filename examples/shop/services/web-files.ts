/**
 * @module shop/services/web-files
 * The static-file handler behind the shop's `web` service: answers GET and HEAD for the files
 * under one folder (`/` is `index.html`), with content types, validators and cache headers.
 * A request path is decoded once and resolved inside the folder; anything that would land
 * outside it (`..`, encoded slashes, NUL, a symbolic link pointing out) is refused.
 */
import { createReadStream } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { extname, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";

/** Content types by extension: what the front end ships, and a little more. */
const contentTypes: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * The page loads only its own files and calls only its own origin's API; saying so lets a
 * browser refuse anything injected from elsewhere.
 */
const securityHeaders = {
  "x-content-type-options": "nosniff",
  "content-security-policy":
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  "referrer-policy": "no-referrer",
};

/** A request handler for node:http. */
export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * Serves the files under `folder`. File names carry no content hash (there is no build step),
 * so every answer is `Cache-Control: no-cache` with an ETag and Last-Modified: the browser
 * keeps a copy and revalidates it, and an unchanged file costs a 304 without a body.
 */
export function createStaticHandler(folder: string): StaticHandler {
  const root = resolve(folder);
  const realRoot = realpath(root);
  return async (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return answer(res, 405, "method not allowed", { allow: "GET, HEAD" });
    }
    const relative = requestPath(req.url ?? "/");
    if (relative === undefined) return answer(res, 400, "bad path");
    const file = await fileInside(await realRoot, resolve(root, relative));
    if (file === undefined) return answer(res, 404, "not found");

    const etag = `W/"${file.size.toString(16)}-${Math.floor(file.mtimeMs).toString(16)}"`;
    const headers = {
      ...securityHeaders,
      "content-type": contentTypes[extname(file.path).toLowerCase()] ?? "application/octet-stream",
      "cache-control": "no-cache",
      etag,
      "last-modified": new Date(file.mtimeMs).toUTCString(),
    };
    if (notModified(req, etag, file.mtimeMs)) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, "content-length": file.size });
    if (req.method === "HEAD") return void res.end();
    await pipeline(createReadStream(file.path), res).catch(() => {
      // The client went away mid-file; the socket is already closed.
    });
  };
}

/**
 * The path of a request URL relative to the folder, decoded; undefined when it cannot name a
 * file inside it. `/` and paths ending in `/` name that folder's `index.html`.
 */
export function requestPath(url: string): string | undefined {
  const raw = url.split(/[?#]/, 1)[0]!;
  if (!raw.startsWith("/")) return undefined;
  // An encoded slash or backslash would let one segment hide a path separator.
  if (/%2f|%5c/i.test(raw)) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  if (path.includes("\0") || path.includes("\\")) return undefined;
  const segments = path.split("/").filter((segment) => segment !== "" && segment !== ".");
  if (segments.some((segment) => segment === ".." || segment.startsWith("."))) return undefined;
  if (path.endsWith("/")) segments.push("index.html");
  return segments.join("/");
}

interface FoundFile {
  path: string;
  size: number;
  mtimeMs: number;
}

/** The regular file at `path` (a folder's `index.html`), only if it really lies under `root`. */
async function fileInside(root: string, path: string): Promise<FoundFile | undefined> {
  try {
    let real = await realpath(path);
    let info = await stat(real);
    if (info.isDirectory()) {
      real = await realpath(resolve(real, "index.html"));
      info = await stat(real);
    }
    if (!info.isFile() || !real.startsWith(root + sep)) return undefined;
    return { path: real, size: info.size, mtimeMs: info.mtimeMs };
  } catch {
    return undefined;
  }
}

/** Whether the client's copy is current (RFC 9110: If-None-Match wins over If-Modified-Since). */
function notModified(req: IncomingMessage, etag: string, mtimeMs: number): boolean {
  const match = req.headers["if-none-match"];
  if (match !== undefined) {
    return match === "*" || match.split(",").some((tag) => tag.trim() === etag);
  }
  const since = Date.parse(req.headers["if-modified-since"] ?? "");
  return !Number.isNaN(since) && Math.floor(mtimeMs / 1000) * 1000 <= since;
}

function answer(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    ...securityHeaders,
    ...headers,
    "content-type": "text/plain; charset=utf-8",
    "cache-control": "no-store",
  });
  res.end(`${message}\n`);
}
