/**
 * @module config/schema/portal
 * `gateway.portal`: the developer portal served on the proxy listeners, its path, which
 * routes it publishes and how it introduces itself.
 */
import { z } from "zod";

export const portalSchema = z
  .strictObject({
    path: z
      .string()
      .regex(
        /^\/[^?#%\s*:]*[^/?#%\s*:]$/,
        "expected a path starting with / and not ending in / (no ?, #, %, *, : or spaces)",
      )
      .default("/docs")
      .describe(
        "Where the portal is served on the proxy listeners: the page at this path, the OpenAPI documents under it. Reserved: no route may match it or anything under it.",
      ),
    publish: z
      .enum(["marked", "all"])
      .default("marked")
      .describe(
        "Which routes the portal shows: `marked`, only those with `portal: true`; `all`, every route.",
      ),
    title: z
      .string()
      .min(1)
      .optional()
      .describe("The portal's title (the page's and the aggregated document's `info.title`)."),
    description: z
      .string()
      .min(1)
      .optional()
      .describe("A paragraph under the title (Markdown, as OpenAPI's `info.description`)."),
  })
  .optional()
  .describe(
    "The developer portal: a catalog of the published routes with their OpenAPI documents and a try-it renderer, on the proxy listeners (see docs/portal.md). Off when absent.",
  );

export type PortalConfig = NonNullable<z.output<typeof portalSchema>>;
