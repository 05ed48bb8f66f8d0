/**
 * @module registry/etcd-keepalive
 * Heartbeats as etcd lease keep-alives, over ONE keep-alive stream per node shared by every
 * instance: a renewal is one message each way on a stream already open (no call set up per
 * heartbeat, nothing written to etcd's disk, no watch event). etcd answers a stream's
 * requests in order, so each answer goes to the oldest renewal waiting for its lease. A
 * stream that fails or falls silent is dropped with every renewal on it; the next opens
 * another.
 */
import type { Etcd3 } from "etcd3";

type KeepAliveStream = Awaited<ReturnType<Etcd3["leaseClient"]["leaseKeepAlive"]>>;

interface Renewal {
  resolve(ttlSeconds: number): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** One stream's renewals waiting for their answer, by lease. */
interface OpenStream {
  stream: Promise<KeepAliveStream>;
  waiting: Map<string, Renewal[]>;
}

/** Renews etcd leases on one shared stream. */
export class LeaseKeepAlive {
  readonly #client: Etcd3;
  readonly #timeoutMs: number;
  #open: OpenStream | undefined;

  /** `timeoutMs`: how long a renewal may wait for etcd's answer. */
  constructor(client: Etcd3, timeoutMs: number) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Renews `lease`: the seconds it runs from now, 0 when etcd holds no such lease (it ran
   * out, or was revoked). Rejects when etcd did not answer.
   */
  renew(lease: string): Promise<number> {
    const open = this.#stream();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.#drop(open, new Error(`etcd did not renew the lease within ${this.#timeoutMs} ms`)),
        this.#timeoutMs,
      );
      const renewal = { resolve, reject, timer };
      const queue = open.waiting.get(lease);
      if (queue) queue.push(renewal);
      else open.waiting.set(lease, [renewal]);
      open.stream.then(
        (stream) => this.#open === open && stream.write({ ID: lease }),
        (error: Error) => this.#drop(open, error),
      );
    });
  }

  /** Drops the stream; renewals waiting on it fail. */
  close(): void {
    if (this.#open) this.#drop(this.#open, new Error("the registry store closed"));
  }

  #stream(): OpenStream {
    if (this.#open) return this.#open;
    const open: OpenStream = {
      stream: this.#client.leaseClient.leaseKeepAlive(),
      waiting: new Map(),
    };
    this.#open = open;
    open.stream.then(
      (stream) => {
        stream.on("data", (answer) => {
          const queue = open.waiting.get(answer.ID);
          const renewal = queue?.shift();
          if (queue?.length === 0) open.waiting.delete(answer.ID);
          if (!renewal) return;
          clearTimeout(renewal.timer);
          renewal.resolve(Number(answer.TTL));
        });
        stream.on("error", (error) => this.#drop(open, error));
        stream.on("end", () => this.#drop(open, new Error("etcd ended the keep-alive stream")));
      },
      () => {},
    );
    return open;
  }

  #drop(open: OpenStream, error: Error): void {
    if (this.#open === open) this.#open = undefined;
    for (const queue of open.waiting.values())
      for (const renewal of queue) {
        clearTimeout(renewal.timer);
        renewal.reject(error);
      }
    open.waiting.clear();
    open.stream.then(
      (stream) => stream.cancel(),
      () => {},
    );
  }
}
