/**
 * @module stores/redis-turn-writes
 * Sends the hot path's commands on a shared ioredis client in batches: the commands of
 * one event-loop turn leave in one socket write (the sockets corked while they are handed
 * to the client), and on a single connection only one batch is in flight: commands made
 * while it waits go out together when its last reply comes. Under load that is what
 * ioredis's auto-pipelining buys (far fewer writes, reads and Redis wake-ups than a write
 * per command or per turn), without its per-turn Pipeline object and promise layers.
 *
 * A held command is never a late answer: callers time their calls from when they made
 * them (SharedDeadline), and a command whose caller has given up is dropped, not sent.
 * A command may also be built only when its batch is written (`LateCommand`), so that
 * callers can keep adding to it while the batch before it is answered.
 */
import type { Socket } from "node:net";
import type { Cluster, Command, Redis } from "ioredis";

/** Whether the caller still wants the command's answer. */
export interface Wanted {
  readonly done: boolean;
}

/**
 * Commands made when their batch is written (none when nothing is left to send): always
 * built (building closes it to newcomers), never dropped unbuilt.
 */
export interface LateCommand {
  build(): Command[];
}

/** What a late command waits on: it decides itself, when built, whether it is still wanted. */
const builtAnyway: Wanted = { done: false };

/** Drop the given-up commands of a held batch once it is this long. */
const pruneAt = 1024;

export class RedisTurnWrites {
  readonly #client: Redis | Cluster;
  #queue: (Command | LateCommand)[] = [];
  #wanted: Wanted[] = [];
  #scheduled = false;
  /** A single connection's batch not yet answered; commands made meanwhile wait for it. */
  #inFlight = false;
  readonly #flush = (): void => {
    this.#scheduled = false;
    if (!this.#inFlight) this.#write();
  };
  readonly #answered = (): void => {
    this.#inFlight = false;
    if (this.#queue.length > 0) this.#write();
  };

  constructor(client: Redis | Cluster) {
    this.#client = client;
  }

  /**
   * Sends `command` with its batch (a `LateCommand` is built then); the reply (or a
   * failure) settles the command's promise.
   */
  send(command: Command | LateCommand, wanted: Wanted = builtAnyway): void {
    this.#queue.push(command);
    this.#wanted.push(wanted);
    if (this.#queue.length >= pruneAt && this.#inFlight) this.#prune();
    if (!this.#scheduled && !this.#inFlight) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  #write(): void {
    const queue = this.#queue;
    const wanted = this.#wanted;
    this.#queue = [];
    this.#wanted = [];
    const client = this.#client;
    const corked = this.#cork();
    let last: Command | undefined;
    for (let i = 0; i < queue.length; i++) {
      if (wanted[i]!.done) continue;
      const entry = queue[i]!;
      if ("build" in entry) {
        for (const command of entry.build()) {
          client.sendCommand(command);
          last = command;
        }
        continue;
      }
      client.sendCommand(entry);
      last = entry;
    }
    for (const socket of corked) socket.uncork();
    // A cluster's batch spans nodes that answer apart: only a single connection waits.
    if (last !== undefined && !client.isCluster) {
      this.#inFlight = true;
      last.promise.then(this.#answered, this.#answered);
    }
  }

  #cork(): Socket[] {
    const client = this.#client;
    const sockets: Socket[] = [];
    const streams = client.isCluster
      ? (client as Cluster).nodes("master").map((node) => node.stream)
      : [(client as Redis).stream];
    for (const socket of streams) {
      // Before the first connection, and between reconnections, there is no socket to write.
      if (socket === undefined || !socket.writable) continue;
      socket.cork();
      sockets.push(socket);
    }
    return sockets;
  }

  /** Drops the held commands whose callers gave up (a hung Redis): they would only pile up. */
  #prune(): void {
    const queue: (Command | LateCommand)[] = [];
    const wanted: Wanted[] = [];
    for (let i = 0; i < this.#queue.length; i++) {
      if (this.#wanted[i]!.done) continue;
      queue.push(this.#queue[i]!);
      wanted.push(this.#wanted[i]!);
    }
    this.#queue = queue;
    this.#wanted = wanted;
  }
}
