// Baseline: fast-gateway (restana + fast-proxy-lite) with the same 10 route prefixes as Gatehouse.
import gateway from "fast-gateway";

const upstream = process.env.UPSTREAM_URL ?? "http://127.0.0.1:8081";
const port = Number(process.env.PORT ?? 8080);
const routeCount = Number(process.env.ROUTES ?? 10);

// prefixRewrite keeps the path as it came, so the upstream sees what Gatehouse would send.
const routes = Array.from({ length: routeCount }, (_, i) => ({
  prefix: `/svc${i}`,
  prefixRewrite: `/svc${i}`,
  target: upstream,
}));

await gateway({ routes, enableServicesEndpoint: false }).start(port, "127.0.0.1");
process.on("SIGTERM", () => process.exit(0)); // exit normally, so --cpu-prof can write its profile
