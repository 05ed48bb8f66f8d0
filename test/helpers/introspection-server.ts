/**
 * @module test/helpers/introspection-server
 * A real RFC 7662 introspection endpoint for tests: it checks the gateway's client
 * credentials, counts the POSTs per token, and answers from a table the test fills in
 * (an answer, a delay, or a broken reply).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { startUpstream, type Upstream } from "./upstream.ts";

/** How the endpoint treats one token. */
export interface TokenBehaviour {
  answer?: Record<string, unknown>;
  /** Answer after this many ms. */
  delayMs?: number;
  /** Answer this raw status and body instead. */
  raw?: { status: number; body: string };
}

export interface IntrospectionServer {
  upstream: Upstream;
  url: string;
  tokens: Map<string, TokenBehaviour>;
  /** POSTs received per token. */
  posts: Map<string, number>;
  /** The token_type_hint of the last POST. */
  lastHint: string | null;
  close(): Promise<void>;
}

/** Starts an endpoint at `/introspect` accepting only `clientId:clientSecret` (client_secret_basic). */
export async function startIntrospectionServer(
  clientId: string,
  clientSecret: string,
): Promise<IntrospectionServer> {
  // RFC 6749 §2.3.1: id and secret are form-encoded, then joined and base64-encoded.
  const form = (text: string) => new URLSearchParams([["", text]]).toString().slice(1);
  const pair = `${form(clientId)}:${form(clientSecret)}`;
  const expected = `Basic ${Buffer.from(pair).toString("base64")}`;
  const state: Omit<IntrospectionServer, "upstream" | "url" | "close"> = {
    tokens: new Map(),
    posts: new Map(),
    lastHint: null,
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const reply = (status: number, body: string) => {
      if (!res.destroyed) res.writeHead(status, { "content-type": "application/json" }).end(body);
    };
    if (req.method !== "POST" || req.url !== "/introspect") return reply(404, "{}");
    if (req.headers.authorization !== expected) return reply(401, '{"error":"invalid_client"}');
    if (req.headers["content-type"] !== "application/x-www-form-urlencoded")
      return reply(400, '{"error":"invalid_request"}');
    const form = new URLSearchParams(text);
    const token = form.get("token") ?? "";
    state.lastHint = form.get("token_type_hint");
    state.posts.set(token, (state.posts.get(token) ?? 0) + 1);
    const behaviour = state.tokens.get(token) ?? { answer: { active: false } };
    if (behaviour.delayMs) await new Promise((resolve) => setTimeout(resolve, behaviour.delayMs));
    if (behaviour.raw) return reply(behaviour.raw.status, behaviour.raw.body);
    reply(200, JSON.stringify(behaviour.answer));
  };
  const upstream = await startUpstream((req, res) => void handle(req, res));
  return Object.assign(state, {
    upstream,
    url: `${upstream.url}/introspect`,
    close: () => upstream.close(),
  });
}
