/**
 * @module bench/verify
 * Checks that a target really answers the measured request with 200 and the upstream's
 * JSON body (in the coding a row expects), so a fast stream of 404s, or of uncompressed
 * answers, is never mistaken for a fast proxy.
 */
import { request } from "node:http";
import { isDeepStrictEqual } from "node:util";
import { gunzipSync } from "node:zlib";
import { upstreamBody } from "./nginx.ts";

/** What a target's answer must be, when it is not the upstream's small JSON as it is. */
export interface ExpectedAnswer {
  body: string;
  /** The `Content-Encoding` it must come in (gzip is decoded before the body is compared). */
  contentEncoding?: "gzip";
}

/** Throws unless GET `url` answers 200 with the upstream's JSON body (or `expected`). */
export async function verifyTarget(
  url: string,
  headers: readonly string[] = [],
  expected: ExpectedAnswer = { body: upstreamBody },
): Promise<void> {
  const { status, encoding, raw } = await get(url, headers, 5_000);
  const body = (encoding === "gzip" ? gunzipSync(raw) : raw).toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    parsed = undefined;
  }
  if (
    status !== 200 ||
    encoding !== expected.contentEncoding ||
    !isDeepStrictEqual(parsed, JSON.parse(expected.body))
  )
    throw new Error(
      `GET ${url} answered ${status} (content-encoding ${encoding}) ${body.slice(0, 200)}; ` +
        `expected 200 (content-encoding ${expected.contentEncoding}) ${expected.body.slice(0, 200)}`,
    );
}

function get(
  url: string,
  headers: readonly string[],
  timeoutMs: number,
): Promise<{ status: number; encoding: string | undefined; raw: Buffer }> {
  const sent = Object.fromEntries(
    headers.map((line) => [
      line.slice(0, line.indexOf(":")),
      line.slice(line.indexOf(":") + 1).trim(),
    ]),
  );
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, timeout: timeoutMs, headers: sent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          encoding: res.headers["content-encoding"],
          raw: Buffer.concat(chunks),
        }),
      );
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out after ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}
