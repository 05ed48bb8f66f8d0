/**
 * @module portal/assets
 * The files the portal page loads: Swagger UI's, read from the installed swagger-ui-dist
 * package (no CDN, no network), and the portal's own script and style. They are served
 * under `{path}/assets/{tag}/`, the tag a digest of their versions, so a browser may keep
 * them for a year and still gets new ones after an upgrade.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { portalScript, portalStyle } from "./page-assets.ts";

export interface Asset {
  contentType: string;
  body: Buffer;
}

const swaggerFiles: Record<string, string> = {
  "swagger-ui.css": "text/css; charset=utf-8",
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "favicon-32x32.png": "image/png",
  "favicon-16x16.png": "image/png",
};

const swaggerDir = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const swaggerVersion = (
  JSON.parse(readFileSync(join(swaggerDir, "package.json"), "utf8")) as { version: string }
).version;

/** The path segment the current assets are served under. */
export const assetTag = createHash("sha256")
  .update(`${swaggerVersion}\n${portalScript}\n${portalStyle}`)
  .digest("hex")
  .slice(0, 12);

/** Read once, when first asked for (the bundle is about 1.5 MB). */
const loaded = new Map<string, Asset>();

/** The asset called `name`, or undefined when there is none. */
export function assetNamed(name: string): Asset | undefined {
  let asset = loaded.get(name);
  if (asset) return asset;
  if (name === "portal.js")
    asset = { contentType: "text/javascript; charset=utf-8", body: Buffer.from(portalScript) };
  else if (name === "portal.css")
    asset = { contentType: "text/css; charset=utf-8", body: Buffer.from(portalStyle) };
  else if (Object.hasOwn(swaggerFiles, name))
    asset = { contentType: swaggerFiles[name]!, body: readFileSync(join(swaggerDir, name)) };
  if (asset) loaded.set(name, asset);
  return asset;
}
