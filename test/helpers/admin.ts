/**
 * @module test/helpers/admin
 * A real gateway started in-process from a real config file, as `gatehouse start` loads it,
 * with a client for its admin API and one for its proxy listener.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import type { OverlayOption } from "../../src/config/load.ts";
import { Gateway } from "../../src/gateway.ts";
import { validateConfigFile } from "../../src/runtime/validate.ts";

export interface AdminAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body parsed as JSON (undefined when empty). */
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever the answer holds
  body: any;
  text: string;
}

export interface AdminGateway {
  gateway: Gateway;
  /** The config file the gateway was started from. */
  file: string;
  dir: string;
  admin(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<AdminAnswer>;
  /** GET through the proxy listener: `status body`. */
  proxy(path: string): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

/** Writes `text` to a new temp dir (or `dir`, if given) as gatehouse.yaml, and starts it. */
export async function startAdminGateway(
  text: string,
  options: { dir?: string; file?: string } = {},
): Promise<AdminGateway> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "gatehouse-admin-")));
  const file = options.file ?? join(dir, "gatehouse.yaml");
  await writeFile(file, text);
  return startFromFile(file, dir);
}

/** Starts a gateway on an existing config file (merged with `overlay`, if given). */
export async function startFromFile(
  file: string,
  dir: string,
  overlay?: OverlayOption,
): Promise<AdminGateway> {
  const gateway = new Gateway(await validateConfigFile(file, undefined, overlay));
  await gateway.start();
  const { admin, proxy } = gateway.addresses();
  return {
    gateway,
    file,
    dir,
    async admin(method, path, body, headers = {}) {
      const res = await request(`http://127.0.0.1:${admin!.port}${path}`, {
        method: method as "GET",
        headers: {
          ...(body !== undefined &&
            typeof body !== "string" && { "content-type": "application/json" }),
          ...headers,
        },
        body:
          body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      });
      const text = await res.body.text();
      return {
        status: res.statusCode,
        headers: res.headers,
        body: text === "" ? undefined : safeJson(text),
        text,
      };
    },
    async proxy(path) {
      const res = await request(`http://127.0.0.1:${proxy[0]!.port}${path}`);
      return { status: res.statusCode, body: await res.body.text() };
    },
    stop: () => gateway.stop(),
  };
}

/** Removes a directory made by startAdminGateway. */
export const removeDir = (dir: string) => rm(dir, { recursive: true, force: true });

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
