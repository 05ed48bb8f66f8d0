/**
 * @module bench/verify
 * Checks that a target really answers the measured request with 200 and the upstream's
 * JSON body, so a fast stream of 404s is never mistaken for a fast proxy.
 */
import { request } from "node:http";
import { isDeepStrictEqual } from "node:util";
import { upstreamBody } from "./nginx.ts";

/** Throws unless GET `url` answers 200 with the upstream's JSON body. */
export async function verifyTarget(url: string, headers: readonly string[] = []): Promise<void> {
  const { status, body } = await get(url, headers, 5_000);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (status !== 200 || !isDeepStrictEqual(parsed, JSON.parse(upstreamBody)))
    throw new Error(
      `GET ${url} answered ${status} ${body.slice(0, 200)}; expected 200 ${upstreamBody}`,
    );
}

function get(
  url: string,
  headers: readonly string[],
  timeoutMs: number,
): Promise<{ status: number; body: string }> {
  const sent = Object.fromEntries(
    headers.map((line) => [
      line.slice(0, line.indexOf(":")),
      line.slice(line.indexOf(":") + 1).trim(),
    ]),
  );
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs, headers: sent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}
