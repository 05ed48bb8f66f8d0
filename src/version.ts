/**
 * @module version
 * Gatehouse's version, read once from its package.json (the same file whether running
 * from src/ or the built dist/, both one level below the package root).
 */
import { readFileSync } from "node:fs";

export const gatehouseVersion: string = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
    version: string;
  }
).version;
