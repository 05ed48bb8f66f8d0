/**
 * @module sdk/api-leases
 * An instance's lease kept through a gateway's registry API: `PUT` to register, `PUT
 * …/heartbeat` to renew (404: the lease ran out or the registry restarted without it),
 * `DELETE` to deregister. A network failure or a request past its time is a failure to
 * retry; a refusal of the instance itself (a bad field, no key, an address outside the
 * registry's networks) is final.
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

export interface ApiLeaseTarget {
  endpoint: RegistryEndpoint;
  service: string;
  id: string;
  instance: InstanceBody;
}

/** Keeps one instance's lease through the registry API. */
export class ApiLeases implements LeaseBackend {
  readonly #url: string;
  readonly #headers: Record<string, string>;
  readonly #instance: InstanceBody;
  readonly #requestTimeout: () => number;
  /** Aborts the registry request in flight. */
  #inFlight: AbortController | undefined;

  /** `requestTimeout`: how long one request may take, asked before each. */
  constructor(target: ApiLeaseTarget, requestTimeout: () => number) {
    this.#url = target.endpoint.base + instancePath(target.service, target.id);
    this.#headers = registryHeaders(target.endpoint);
    this.#instance = target.instance;
    this.#requestTimeout = requestTimeout;
  }

  async register(): Promise<LeaseAnswer> {
    const { status, text } = await this.#send("PUT", this.#url, this.#instance);
    const lease = status === 200 || status === 201 ? leaseOf(text) : undefined;
    if (lease) return { kind: "lease", lease };
    return { kind: "failed", error: failureOf(status, text), final: isFinalRefusal(status) };
  }

  async heartbeat(): Promise<LeaseAnswer> {
    const { status, text } = await this.#send("PUT", `${this.#url}/heartbeat`);
    const lease = status === 200 ? leaseOf(text) : undefined;
    if (lease) return { kind: "lease", lease };
    if (status === 404) return { kind: "gone" };
    return { kind: "failed", error: failureOf(status, text), final: false };
  }

  async deregister(timeoutMs: number): Promise<boolean> {
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await fetch(this.#url, {
        method: "DELETE",
        headers: this.#headers,
        signal: controller.signal,
      });
      await response.arrayBuffer();
      // 404: the registry had already forgotten it, which is what was asked.
      return response.status === 204 || response.status === 200 || response.status === 404;
    } catch {
      return false;
    } finally {
      clearTimeout(timeout);
    }
  }

  abort(): void {
    this.#inFlight?.abort();
  }

  close(): void {}

  /** One registry request; a network failure or timeout comes back as status 0. */
  async #send(
    method: string,
    url: string,
    body?: unknown,
  ): Promise<{ status: number; text: string }> {
    const controller = new AbortController();
    this.#inFlight = controller;
    const timeout = setTimeout(() => controller.abort(), this.#requestTimeout());
    try {
      const response = await fetch(url, {
        method,
        headers:
          body === undefined
            ? this.#headers
            : { ...this.#headers, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
      });
      return { status: response.status, text: await response.text() };
    } catch (error) {
      return { status: 0, text: (error as Error).message };
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

function failureOf(status: number, text: string): RegistryError {
  return status === 0
    ? new RegistryError(0, "REGISTRY_UNREACHABLE", `registry unreachable: ${text}`)
    : registryErrorOf(status, text);
}
