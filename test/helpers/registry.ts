/**
 * @module test/helpers/registry
 * A small client of the registry API for tests, over real HTTP: register, heartbeat,
 * deregister, read, and watch a service's server-sent events as they arrive.
 */
import { request } from "undici";
import { until } from "./until.ts";

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever the answer holds
  body: any;
}

/** A client of the registry API at `base` (`http://127.0.0.1:PORT`), with `key` if given. */
export function registryClient(base: string, key?: string) {
  const headers = key ? { authorization: `Bearer ${key}` } : {};
  const call = async (method: "GET" | "PUT" | "DELETE", path: string, body?: unknown) => {
    const res = await request(`${base}${path}`, {
      method,
      headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
      ...(body !== undefined && { body: typeof body === "string" ? body : JSON.stringify(body) }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, body: text ? JSON.parse(text) : undefined } as Answer;
  };
  const instance = (service: string, id: string) => `/registry/services/${service}/instances/${id}`;
  return {
    put: (service: string, id: string, body: unknown) => call("PUT", instance(service, id), body),
    heartbeat: (service: string, id: string) => call("PUT", `${instance(service, id)}/heartbeat`),
    remove: (service: string, id: string) => call("DELETE", instance(service, id)),
    get: (path: string) => call("GET", path),
    call,
  };
}

/** One server-sent event as received. */
export interface ReceivedEvent {
  event: string;
  id: string | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever the event holds
  data: any;
}

/** Reads a service's watch stream; `next(type)` waits for the next event of that type. */
export async function watchService(base: string, service: string, key?: string) {
  const controller = new AbortController();
  const res = await request(`${base}/registry/services/${service}?watch=1`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
    signal: controller.signal,
  });
  const events: ReceivedEvent[] = [];
  const comments: string[] = [];
  let buffer = "";
  res.body.setEncoding("utf8");
  res.body.on("data", (chunk: string) => {
    buffer += chunk;
    let end = buffer.indexOf("\n\n");
    while (end !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf("\n\n");
      const fields = new Map<string, string>();
      for (const line of block.split("\n")) {
        if (line.startsWith(":")) comments.push(line.slice(1).trim());
        const colon = line.indexOf(":");
        if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
      }
      if (fields.has("event"))
        events.push({
          event: fields.get("event")!,
          id: fields.get("id"),
          data: JSON.parse(fields.get("data") ?? "null"),
        });
    }
  });
  res.body.on("error", () => {});
  let read = 0;
  return {
    status: res.statusCode,
    contentType: res.headers["content-type"],
    events,
    comments,
    /** The next event not yet taken; fails when it is not of `type`. */
    async next(type: string, timeoutMs = 5000): Promise<ReceivedEvent> {
      await until(() => events.length > read, `a ${type} event`, timeoutMs);
      const event = events[read++]!;
      if (event.event !== type)
        throw new Error(`expected a ${type} event, got ${JSON.stringify(event)}`);
      return event;
    },
    close: () => controller.abort(),
  };
}
