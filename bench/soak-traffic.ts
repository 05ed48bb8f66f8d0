/**
 * @module bench/soak-traffic
 * The soak's request mix: what each request sends and which answers count as right. The
 * mix walks every route of the soak config, including the answers a user expects to be
 * refused (no API key: 401; past the tight limit: 429; no route: 404).
 */
import { soakApiKey, soakOrigin } from "./soak-config.ts";

export interface SoakRequest {
  /** Short name for error tallies. */
  kind: string;
  method: "GET" | "POST" | "OPTIONS";
  path: string;
  headers: Record<string, string>;
  body?: string;
  /** Statuses that are a right answer to this request. */
  expected: readonly number[];
  /** A Content-Encoding the answer must carry. */
  encoding?: string;
}

const orderBody = JSON.stringify({ item: "soak", quantity: 1, note: "x".repeat(400) });
const order = (): SoakRequest => ({
  kind: "order",
  method: "POST",
  path: "/orders",
  headers: { "content-type": "application/json" },
  body: orderBody,
  expected: [201],
});

/** One round of the mix: 20 requests, the share of each kind given by how often it appears. */
const round: ((n: number) => SoakRequest)[] = [
  (n) => get("public", `/public/items/${n % 100}`, { origin: soakOrigin }),
  (n) => get("public", `/public/orders/${n % 100}`, { origin: soakOrigin }),
  (n) => ({
    kind: "preflight",
    method: "OPTIONS",
    path: `/public/items/${n % 100}`,
    headers: { origin: soakOrigin, "access-control-request-method": "GET" },
    expected: [204],
  }),
  (n) => get("private", `/private/accounts/${n % 50}`, { "x-api-key": soakApiKey }),
  (n) => get("private", `/private/accounts/${n % 50}`, { "x-api-key": soakApiKey }),
  (n) => get("private", `/private/profile/${n % 50}`, { "x-api-key": soakApiKey }),
  (n) => get("no-key", `/private/accounts/${n % 50}`, {}, [401]),
  (n) => get("cached", `/cached/${n % 20}`),
  (n) => get("cached", `/cached/${n % 20}`),
  (n) => get("cached", `/cached/${n % 20}`),
  () => ({ ...get("report", "/reports/report", { "accept-encoding": "gzip" }), encoding: "gzip" }),
  () => get("report", "/reports/report", { "accept-encoding": "gzip" }),
  order,
  order,
  (n) => get("tight", `/tight/${n % 10}`, {}, [200, 429]),
  (n) => get("tight", `/tight/${n % 10}`, {}, [200, 429]),
  (n) => get("public", `/public/items/${n % 100}`, { origin: soakOrigin }),
  (n) => get("cached", `/cached/${n % 20}`),
  (n) => get("private", `/private/accounts/${n % 50}`, { "x-api-key": soakApiKey }),
  (n) => get("no-route", `/nowhere/${n % 10}`, {}, [404]),
];

/** The `n`th request of the mix (0, 1, 2, ...). */
export function soakRequest(n: number): SoakRequest {
  return round[n % round.length]!(Math.floor(n / round.length));
}

function get(
  kind: string,
  path: string,
  headers: Record<string, string> = {},
  expected: readonly number[] = [200],
): SoakRequest {
  return { kind, method: "GET", path, headers, expected };
}
