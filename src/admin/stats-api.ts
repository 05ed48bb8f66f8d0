/**
 * @module admin/stats-api
 * `GET /stats`: the gateway's own request metrics over the last 15 minutes (admin/stats-view),
 * and `GET /stats/stream`: the same, sent again every few seconds as server-sent events on
 * one long response. The stream is an ordinary admin request, so it carries the key in a
 * header like every other (a page reads it with a fetch stream, not EventSource, which
 * cannot send headers); it ends when the client goes or the gateway stops.
 */
import type { AdminContext, AdminRoute } from "./context.ts";
import { sendJson } from "./http.ts";
import { viewStats } from "./stats-view.ts";

/** How often the stream sends the stats. */
export const streamIntervalMs = 2_000;

export function statsRoutes(): AdminRoute[] {
  return [
    {
      method: "GET",
      path: "/stats",
      handle: async (ctx) => sendJson(ctx.res, 200, await stats(ctx)),
    },
    { method: "GET", path: "/stats/stream", handle: stream },
  ];
}

async function stats(ctx: AdminContext) {
  const current = ctx.control.history.current;
  return viewStats(await ctx.window(), ctx.runtime(), current);
}

async function stream(ctx: AdminContext): Promise<void> {
  const { res, closing } = ctx;
  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-store",
    // A proxy in front must pass each event on as it comes.
    "x-accel-buffering": "no",
  });
  if (ctx.req.method === "HEAD") {
    res.end();
    return;
  }
  let sending = false;
  const send = async () => {
    if (sending || res.writableEnded) return;
    sending = true;
    try {
      const body = await stats(ctx);
      if (!res.writableEnded) res.write(`event: stats\ndata: ${JSON.stringify(body)}\n\n`);
    } catch (error) {
      // A worker that did not answer in time: the next tick tries again.
      if (!res.writableEnded)
        res.write(
          `event: error\ndata: ${JSON.stringify({ message: (error as Error).message })}\n\n`,
        );
    } finally {
      sending = false;
    }
  };
  const timer = setInterval(send, streamIntervalMs);
  const end = () => {
    clearInterval(timer);
    closing.removeEventListener("abort", end);
    if (!res.writableEnded) res.end("event: end\ndata: {}\n\n");
  };
  res.on("close", end);
  if (closing.aborted) return end();
  closing.addEventListener("abort", end);
  await send();
}
