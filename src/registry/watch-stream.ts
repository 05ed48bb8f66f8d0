/**
 * @module registry/watch-stream
 * `GET /registry/services/{service}?watch=1`: a service's changes as server-sent events.
 * First `snapshot` (every instance), then `put`, `down` and `delete`, each with its
 * revision as the event id, and a comment now and then so proxies and clients know the
 * stream is alive. A client that reads too slowly is cut off rather than buffered without
 * bound: it reconnects and starts again from a snapshot.
 */
import type { ServerResponse } from "node:http";
import type { RegistryEvent, RegistryStore } from "./store.ts";

/** Unread bytes a watcher may leave queued before its stream is ended. */
const maxQueued = 1024 * 1024;

export interface WatchStreamOptions {
  /** Milliseconds between two keepalive comments (15 s by default). */
  keepAliveMs?: number;
}

/** Streams `service`'s changes to `res` until the client goes away. */
export function streamWatch(
  store: RegistryStore,
  service: string,
  res: ServerResponse,
  options: WatchStreamOptions = {},
): void {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-store",
    // nginx and similar proxies would otherwise hold events back.
    "x-accel-buffering": "no",
  });
  res.flushHeaders();
  let stopWatch = () => {};
  const keepAlive = setInterval(() => write(": keepalive\n\n"), options.keepAliveMs ?? 15_000);
  keepAlive.unref();
  const end = () => {
    clearInterval(keepAlive);
    stopWatch();
  };
  function write(text: string): void {
    if (res.writableEnded || res.destroyed) return;
    if (res.writableLength > maxQueued) {
      end();
      res.end();
      return;
    }
    res.write(text);
  }
  res.on("close", end);
  stopWatch = store.watch(service, (event) => write(eventText(event)));
  if (res.destroyed) end();
}

/** One event as SSE: `event:`, `id:` (the revision) and the JSON `data:` line. */
function eventText(event: RegistryEvent): string {
  let data: unknown;
  switch (event.type) {
    case "snapshot":
      data = { service: event.service, revision: event.revision, instances: event.instances };
      break;
    case "put":
      data = { revision: event.revision, instance: event.instance };
      break;
    default:
      data = { revision: event.revision, id: event.id };
  }
  return `event: ${event.type}\nid: ${event.revision}\ndata: ${JSON.stringify(data)}\n\n`;
}
