/**
 * @module sdk/api-leases
 * An instance's lease kept through a gateway's registry API: `PUT` to register, `PUT
 * …/heartbeat` to renew (404: the lease ran out or the registry restarted without it),
 * `DELETE` to deregister. A network failure or a request past its time is a failure to
 * retry; a refusal of the instance itself (a bad field, no key, an address outside the
 * registry's networks) is final. Given several registry URLs (gateway nodes), each request
 * goes to the node in use and, when that one cannot be reached or answers 5xx, on to the
 * next at once (registry-nodes.ts), each node once per request.
 */
import type { LeaseAnswer, LeaseBackend } from "./lease-backend.ts";
import type { InstanceBody, Lease } from "./lease-messages.ts";
import {
  instancePath,
  isFinalRefusal,
  type RegistryEndpoint,
  RegistryError,
  registryErrorOf,
  registryHeaders,
} from "./registry-endpoint.ts";
import { RegistryNodes, triesAnotherNode } from "./registry-nodes.ts";

export interface ApiLeaseTarget {
  endpoint: RegistryEndpoint;
  service: string;
  id: string;
  instance: InstanceBody;
}

/** An answer of one node; status 0 when there was none (unreachable, timed out, aborted). */
interface NodeAnswer {
  base: string;
  status: number;
  text: string;
}

/** Keeps one instance's lease through the registry API. */
export class ApiLeases implements LeaseBackend {
  readonly #nodes: RegistryNodes;
  /** The instance's path under a node's base URL. */
  readonly #path: string;
  readonly #headers: Record<string, string>;
  readonly #instance: InstanceBody;
  readonly #requestTimeout: () => number;
  /** Aborts the registry request in flight. */
  #inFlight: AbortController | undefined;
  /** Set by abort(): the request in flight is given up, not tried on another node. */
  #aborted = false;

  /** `requestTimeout`: how long one request may take, asked before each. */
  constructor(target: ApiLeaseTarget, requestTimeout: () => number) {
    this.#nodes = new RegistryNodes(target.endpoint.bases);
    this.#path = instancePath(target.service, target.id);
    this.#headers = registryHeaders(target.endpoint);
    this.#instance = target.instance;
    this.#requestTimeout = requestTimeout;
  }

  async register(): Promise<LeaseAnswer> {
    const answer = await this.#send("PUT", this.#path, this.#instance);
    const { status, text } = answer;
    const lease = status === 200 || status === 201 ? leaseOf(text) : undefined;
    if (lease) return { kind: "lease", lease };
    return { kind: "failed", error: failureOf(answer), final: isFinalRefusal(status) };
  }

  async heartbeat(): Promise<LeaseAnswer> {
    const answer = await this.#send("PUT", `${this.#path}/heartbeat`);
    const { status, text } = answer;
    const lease = status === 200 ? leaseOf(text) : undefined;
    if (lease) return { kind: "lease", lease };
    // Also when this node is another than the one that took the registration: with the
    // memory store each node has a registry of its own, and the instance registers on this one.
    if (status === 404) return { kind: "gone" };
    return { kind: "failed", error: failureOf(answer), final: false };
  }

  async deregister(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (const base of this.#nodes.inTurn()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      const status = await this.#deregisterAt(base, left);
      // 404: the registry had already forgotten it, which is what was asked.
      if (status === 204 || status === 200 || status === 404) return true;
      if (!triesAnotherNode(status)) return false;
      this.#nodes.failed(base);
    }
    return false;
  }

  abort(): void {
    this.#aborted = true;
    this.#inFlight?.abort();
  }

  close(): void {}

  async #deregisterAt(base: string, timeoutMs: number): Promise<number> {
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await fetch(base + this.#path, {
        method: "DELETE",
        headers: this.#headers,
        signal: controller.signal,
      });
      await response.arrayBuffer();
      return response.status;
    } catch {
      return 0;
    } finally {
      clearTimeout(timeout);
    }
  }

  /**
   * One registry request, to the node in use and then, while a node cannot be reached or
   * answers 5xx, to the next; the last node's answer when none answered otherwise.
   */
  async #send(method: string, path: string, body?: unknown): Promise<NodeAnswer> {
    let answer: NodeAnswer | undefined;
    for (const base of this.#nodes.inTurn()) {
      answer = await this.#sendTo(base, method, path, body);
      if (!triesAnotherNode(answer.status) || this.#aborted) return answer;
      this.#nodes.failed(base);
    }
    return answer!;
  }

  /** One request to one node; a network failure or timeout comes back as status 0. */
  async #sendTo(base: string, method: string, path: string, body?: unknown): Promise<NodeAnswer> {
    const controller = new AbortController();
    this.#inFlight = controller;
    const timeout = setTimeout(() => controller.abort(), this.#requestTimeout());
    try {
      const response = await fetch(base + path, {
        method,
        headers:
          body === undefined
            ? this.#headers
            : { ...this.#headers, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
      });
      return { base, status: response.status, text: await response.text() };
    } catch (error) {
      return { base, status: 0, text: (error as Error).message };
    } finally {
      clearTimeout(timeout);
      if (this.#inFlight === controller) this.#inFlight = undefined;
    }
  }
}

/** The lease in a registry answer; undefined when the body is not one (a proxy answered, say). */
function leaseOf(text: string): Lease | undefined {
  try {
    const parsed = JSON.parse(text) as Lease;
    return typeof parsed?.ttlMs === "number" && parsed.ttlMs > 0 ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function failureOf({ base, status, text }: NodeAnswer): RegistryError {
  return status === 0
    ? new RegistryError(0, "REGISTRY_UNREACHABLE", `registry ${base} unreachable: ${text}`)
    : registryErrorOf(status, text);
}
