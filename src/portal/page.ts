/**
 * @module portal/page
 * The portal's HTML page: the catalog of published services (title, description, routes,
 * the authentication each needs, rate limits, links to their documents) above Swagger UI,
 * which renders the documents and sends "try it" requests through the gateway. No inline
 * script or style: the page's CSP allows only the portal's own files.
 */
import { assetTag } from "./assets.ts";
import type { Catalog, CatalogService } from "./catalog.ts";

export interface PageOptions {
  /** The portal's path, e.g. `/docs`. */
  path: string;
  title: string;
  description?: string;
}

const escapes: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};
const html = (text: string) => text.replace(/[&<>"']/g, (c) => escapes[c]!);

/** The page for `catalog`. */
export function portalPage(catalog: Catalog, options: PageOptions): string {
  const { path } = options;
  const assets = `${path}/assets/${assetTag}`;
  const services = catalog.services.map((service) => serviceCard(service, path)).join("\n");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${html(options.title)}</title>
<link rel="icon" type="image/png" href="${assets}/favicon-32x32.png">
<link rel="stylesheet" href="${assets}/swagger-ui.css">
<link rel="stylesheet" href="${assets}/portal.css">
</head>
<body>
<header class="portal-header">
<h1>${html(options.title)}</h1>
${options.description ? paragraphs(options.description) : ""}
<p class="portal-links"><a href="${path}">All services</a><a href="${path}/openapi.json">OpenAPI document (JSON)</a></p>
</header>
<main>
<section class="portal-catalog" aria-label="Services">
${services || '<p class="portal-empty">No API is published yet.</p>'}
</section>
<div id="swagger-ui" data-url="${path}/openapi.json" data-service-url="${path}/services/{name}/openapi.json"></div>
</main>
<script src="${assets}/swagger-ui-bundle.js"></script>
<script src="${assets}/portal.js"></script>
</body>
</html>
`;
}

function serviceCard(service: CatalogService, path: string): string {
  const name = encodeURIComponent(service.name);
  const rows = service.routes
    .map(
      (route) => `<tr><td>${route.methods.length > 0 ? html(route.methods.join(", ")) : "any"}</td>
<td>${route.paths.map((p) => `<code>${html(p)}</code>`).join("<br>")}</td>
<td>${route.auth.length > 0 ? html(route.auth.join("; ")) : "none"}</td>
<td>${route.limits.length > 0 ? html(route.limits.join("; ")) : "none"}</td></tr>`,
    )
    .join("\n");
  return `<article class="portal-service" data-service="${html(service.name)}">
<h2>${html(service.title)}${service.version ? ` <small>${html(service.version)}</small>` : ""}</h2>
${service.description ? paragraphs(service.description) : ""}
${service.error ? `<p class="portal-error" role="alert">${html(service.error)}</p>` : ""}
<table>
<thead><tr><th>Methods</th><th>Paths</th><th>Authentication</th><th>Rate limit</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<p class="portal-links"><a href="${path}?service=${name}">Show in the explorer</a><a href="${path}/services/${name}/openapi.json">OpenAPI document</a></p>
</article>`;
}

/** Text as paragraphs (blank lines apart); Markdown is left to Swagger UI's rendering. */
function paragraphs(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((paragraph) => `<p>${html(paragraph.trim())}</p>`)
    .join("\n");
}
