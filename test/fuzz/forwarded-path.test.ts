// Property test through real gateways and real upstreams that echo the path they got: a
// raw request line with a path made of traversal pieces either is refused (400, nothing
// forwarded) or reaches the upstream of the route its normalised path matches, with
// exactly that path after the route's stripPrefix or rewrite, and the query as sent. So
// what the router matched is what the upstream serves, whatever the path policy.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { type NormalizeOptions, normalizePath } from "../../src/proxy/normalize-path.ts";
import { checkProperty } from "../helpers/fuzz.ts";
import { type RunningGateway, startGateway, testConfig } from "../helpers/gateway.ts";
import { RawConnection } from "../helpers/raw-connection.ts";
import { startUpstream, type Upstream } from "../helpers/upstream.ts";
import { rawPath } from "./paths.ts";

const policies: NormalizeOptions[] = [
  { encodedSlashes: "reject", mergeSlashes: false },
  { encodedSlashes: "keep", mergeSlashes: true },
  { encodedSlashes: "decode", mergeSlashes: false },
];
const upstreams: Record<"strip" | "rewrite" | "all", Upstream> = {} as never;
const gateways: RunningGateway[] = [];

before(async () => {
  upstreams.strip = await startUpstream();
  upstreams.rewrite = await startUpstream();
  upstreams.all = await startUpstream();
  for (const paths of policies)
    gateways.push(
      await startGateway(
        testConfig({
          gateway: { paths },
          services: Object.entries(upstreams).map(([name, upstream]) => ({
            name,
            targets: [{ url: upstream.url }],
          })),
          routes: [
            {
              name: "strip",
              match: { paths: ["/api", "/api/*"] },
              service: "strip",
              stripPrefix: "/api",
            },
            {
              name: "rewrite",
              match: { paths: ["/v1/:id/*"] },
              service: "rewrite",
              rewrite: "/internal/:id/*",
            },
            { name: "all", match: { paths: ["/*"] }, service: "all" },
          ],
        }),
      ),
    );
});
after(async () => {
  for (const gateway of gateways) await gateway.stop();
  for (const upstream of Object.values(upstreams)) await upstream?.close();
});

/** Which route takes a normalised path, and the path it forwards: the rules written out. */
function expected(path: string): { route: keyof typeof upstreams; forwarded: string } {
  if (path === "/api" || path.startsWith("/api/"))
    return { route: "strip", forwarded: path.length <= 5 ? "/" : path.slice(4) };
  const v1 = /^\/v1\/([^/]+)\/(.*)$/.exec(path);
  if (v1) return { route: "rewrite", forwarded: `/internal/${v1[1]}/${v1[2]}` };
  return { route: "all", forwarded: path };
}

const request = fc.record({
  gateway: fc.nat({ max: policies.length - 1 }),
  prefix: fc.constantFrom("", "/api", "/v1/x", "/API", "/api/..", "/v1", "/v1/%2e%2e"),
  path: rawPath,
  query: fc.constantFrom("", "", "?q=1", "?a=%2e%2e/../x", "?"),
});

describe("forwarded path property (real gateways, echoing upstreams)", () => {
  it("the upstream of the matched route gets the matched path, as the route rewrites it", async () => {
    await checkProperty(
      fc.asyncProperty(request, async ({ gateway, prefix, path, query }) => {
        const raw = prefix + path;
        const normal = normalizePath(raw, policies[gateway]!);
        const counts = Object.values(upstreams).map((u) => u.requests.length);
        const connection = await RawConnection.open(gateways[gateway]!.port);
        let response: { status: number; body: string };
        try {
          await connection.write(`GET ${raw}${query} HTTP/1.1\r\nHost: gw.test\r\n\r\n`);
          // Generous: a loaded machine is slow, and a hang still fails.
          response = await connection.readResponse(10_000);
        } finally {
          connection.destroy();
        }
        const reached = Object.entries(upstreams).filter(
          ([, u], i) => u.requests.length > counts[i]!,
        );
        if (response.status !== 200) {
          // Refused, by the normalisation or by the HTTP parser before it.
          assert.equal(response.status, 400, response.body);
          assert.deepEqual(
            reached.map(([name]) => name),
            [],
            "refused, yet forwarded",
          );
          return;
        }
        assert.notEqual(normal, null, "a path normalisation refuses was served");
        const want = expected(normal!);
        assert.deepEqual(
          reached.map(([name]) => name),
          [want.route],
        );
        const url = (JSON.parse(response.body) as { url: string }).url;
        assert.equal(url, want.forwarded + query);
      }),
      150,
    );
  });
});
