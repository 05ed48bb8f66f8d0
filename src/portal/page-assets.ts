/**
 * @module portal/page-assets
 * The portal page's own script and style, served as files (portal/assets) so the page's
 * Content-Security-Policy needs no inline script. The script starts Swagger UI on the
 * aggregated document, or on one service's when the page's `?service=` names one.
 */

export const portalScript = `"use strict";
(() => {
  const root = document.getElementById("swagger-ui");
  const service = new URLSearchParams(window.location.search).get("service");
  const url = service
    ? root.dataset.serviceUrl.replace("{name}", encodeURIComponent(service))
    : root.dataset.url;
  window.ui = SwaggerUIBundle({
    url,
    dom_id: "#swagger-ui",
    deepLinking: true,
    // Swagger UI would send the document to a public validator otherwise.
    validatorUrl: null,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    displayRequestDuration: true,
  });
})();
`;

export const portalStyle = `body { margin: 0; font-family: system-ui, sans-serif; color: #1f2933; }
.portal-header, .portal-catalog { max-width: 1460px; margin: 0 auto; padding: 0 20px; }
.portal-header h1 { margin: 24px 0 8px; font-size: 28px; }
.portal-header p { margin: 0 0 12px; color: #52606d; }
.portal-catalog { display: grid; gap: 16px; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); }
.portal-service { border: 1px solid #d9e2ec; border-radius: 6px; padding: 12px 16px; }
.portal-service h2 { margin: 0 0 6px; font-size: 20px; }
.portal-service table { width: 100%; border-collapse: collapse; font-size: 13px; }
.portal-service th, .portal-service td { text-align: left; padding: 4px 6px; border-top: 1px solid #e4e7eb; vertical-align: top; }
.portal-service code { font-size: 12px; }
.portal-error { color: #ab091e; }
.portal-links a { margin-right: 12px; }
.portal-empty { color: #52606d; }
`;
