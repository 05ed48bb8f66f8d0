/**
 * @module stores/redis-turn-writes
 * Sends commands on a shared ioredis client so that those of one event-loop turn leave in
 * one socket write: the client's sockets are corked at the turn's first command and
 * uncorked when the turn ends (`setImmediate`, after the I/O callbacks that made them).
 * This is what ioredis's auto-pipelining buys (far fewer syscalls and Redis wake-ups than
 * a write per command) without its per-turn Pipeline object, per-command promise layers
 * and one-pipeline-at-a-time wait: each command is handed to the client as it is made, so
 * with a frozen Redis a later command is never held behind an earlier one.
 */
import type { Socket } from "node:net";
import type { Cluster, Command, Redis } from "ioredis";

export class RedisTurnWrites {
  readonly #client: Redis | Cluster;
  /** The sockets corked in this turn, uncorked at its end. */
  readonly #corked: Socket[] = [];
  #pending = false;
  readonly #flush = (): void => {
    this.#pending = false;
    const corked = this.#corked;
    for (let i = 0; i < corked.length; i++) corked[i]!.uncork();
    corked.length = 0;
  };

  constructor(client: Redis | Cluster) {
    this.#client = client;
  }

  /** Sends `command`; the reply (or a failure) settles `command.promise`. */
  send(command: Command): void {
    if (!this.#pending) {
      this.#pending = true;
      this.#corkSockets();
      setImmediate(this.#flush);
    }
    this.#client.sendCommand(command);
  }

  #corkSockets(): void {
    const client = this.#client;
    if (client.isCluster) {
      for (const node of (client as Cluster).nodes("master")) this.#cork(node.stream);
    } else {
      this.#cork((client as Redis).stream);
    }
  }

  #cork(socket: Socket | undefined): void {
    // Before the first connection, and between reconnections, there is no socket to write.
    if (socket === undefined || !socket.writable) return;
    socket.cork();
    this.#corked.push(socket);
  }
}
