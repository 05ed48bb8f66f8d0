/**
 * @module plugins/rate-limit/redis-batch
 * The decisions that go to Redis in one script call (see redis-script.ts): the requests
 * made until the connection writes its next batch join it, and the call is built only
 * then, from those whose callers still wait. Its reply is split back into one decision
 * per request; a failure fails every request of the call.
 */
import { createHash } from "node:crypto";
import { SweptCommand } from "../../stores/redis.ts";
import type { LateCommand, Wanted } from "../../stores/redis-turn-writes.ts";
import type { DeadlineCall } from "../../stores/shared-deadline.ts";
import { type Decision, decide, type LimitOutcome, type LimitRule } from "./decision.ts";
import { rateLimitScript } from "./redis-script.ts";

/** What Redis knows the script by once it has seen it (EVALSHA). */
const scriptSha = createHash("sha1").update(rateLimitScript).digest("hex");
/** Requests one call decides at most: a larger batch goes out as several calls. */
const maxCallSize = 512;
/** An unsent batch (behind a hung Redis) drops its given-up requests once it holds this many. */
const firstPrune = 1024;

/** A decision waiting on Redis: settled once, by its batch's reply or by the connection's sweep. */
export interface PendingDecision extends DeadlineCall {
  /** The request's own key (the client's IP, consumer, ...), the hash tag of its keys. */
  key: string;
  /** Its sorted-set member, unique to the request. */
  member: string;
  answer(decision: Decision | undefined): void;
}

/** What a batch needs from its store: the keys' layout and where failures go. */
export interface BatchLayout {
  rules: readonly LimitRule[];
  /** Per limit, the key up to the request's own key, and after it. */
  keyStarts: readonly string[];
  keySuffixes: readonly string[];
  /** "sw" or "tb". */
  flag: string;
  /** Each limit's count and window (µs), as the script's arguments. */
  limitArgs: readonly string[];
  /** Counts and reports a decision Redis failed to give. */
  failed(error: string): void;
  /** Sends a command on the connection (the script sent again whole). */
  send(command: SweptCommand, wanted: Wanted): void;
}

export class DecisionBatch implements LateCommand {
  readonly #layout: BatchLayout;
  #calls: PendingDecision[] = [];
  #pruneAt = firstPrune;
  /** Called when the batch is built: no request joins it after that. */
  readonly #closed: () => void;

  constructor(layout: BatchLayout, closed: () => void) {
    this.#layout = layout;
    this.#closed = closed;
  }

  add(call: PendingDecision): void {
    this.#calls.push(call);
    // Behind a hung Redis, requests keep joining and giving up: keep only the waiting ones.
    if (this.#calls.length >= this.#pruneAt) {
      this.#calls = this.#calls.filter((waiting) => !waiting.done);
      this.#pruneAt = Math.max(firstPrune, 2 * this.#calls.length);
    }
  }

  build(): SweptCommand[] {
    this.#closed();
    const calls = this.#calls.filter((call) => !call.done);
    const commands: SweptCommand[] = [];
    for (let at = 0; at < calls.length; at += maxCallSize) {
      commands.push(this.#command(calls.slice(at, at + maxCallSize), false));
    }
    return commands;
  }

  /** EVALSHA for `calls`, or the script whole (EVAL) when Redis did not know it. */
  #command(calls: PendingDecision[], whole: boolean): SweptCommand {
    const { rules, keyStarts, keySuffixes, flag, limitArgs } = this.#layout;
    const count = rules.length;
    const args: (string | number)[] = [whole ? rateLimitScript : scriptSha, calls.length * count];
    for (const call of calls) {
      for (let i = 0; i < count; i++) args.push(keyStarts[i] + call.key + keySuffixes[i]);
    }
    args.push(flag, count);
    for (const arg of limitArgs) args.push(arg);
    for (const call of calls) args.push(call.member);
    const command = new SweptCommand(whole ? "eval" : "evalsha", args);
    command.promise.then(
      (reply) => this.#answer(calls, reply as number[]),
      (error: Error) => {
        if (!whole && error.message.startsWith("NOSCRIPT")) {
          const waiting = calls.filter((call) => !call.done);
          const wanted = {
            get done() {
              return waiting.every((call) => call.done);
            },
          };
          if (waiting.length > 0) this.#layout.send(this.#command(waiting, true), wanted);
          return;
        }
        this.#fail(calls, error.message);
      },
    );
    return command;
  }

  /** The script's reply: per request, admitted, then remaining, reset and retry (µs) per limit. */
  #answer(calls: PendingDecision[], reply: number[]): void {
    const rules = this.#layout.rules;
    const count = rules.length;
    const stride = 1 + 3 * count;
    for (let r = 0; r < calls.length; r++) {
      const call = calls[r]!;
      if (call.done) continue;
      call.done = true;
      call.answer(
        count === 1 ? single(rules[0]!, reply, r * stride + 1) : several(rules, reply, r),
      );
    }
  }

  #fail(calls: PendingDecision[], error: string): void {
    for (const call of calls) {
      if (call.done) continue;
      call.done = true;
      this.#layout.failed(error);
      call.answer(undefined);
    }
  }
}

/** One limit's figures at `at` in the reply: what `decide` makes of a single outcome. */
function single(rule: LimitRule, reply: number[], at: number): Decision {
  // A limit that admits has nothing to wait for; one that refuses always has.
  const admitted = reply[at + 2]! <= 0;
  return {
    admitted,
    rule,
    remaining: admitted ? reply[at]! : 0,
    resetMs: reply[at + 1]! / 1000,
    retryAfterMs: admitted ? 0 : reply[at + 2]! / 1000,
  };
}

/** Request `r`'s limits in the reply, folded into one decision. */
function several(rules: readonly LimitRule[], reply: number[], r: number): Decision {
  const count = rules.length;
  const outcomes: LimitOutcome[] = [];
  for (let i = 0; i < count; i++) {
    const at = r * (1 + 3 * count) + 1 + 3 * i;
    outcomes.push({
      admits: reply[at + 2]! <= 0,
      remaining: reply[at]!,
      resetMs: reply[at + 1]! / 1000,
      retryAfterMs: reply[at + 2]! / 1000,
    });
  }
  return decide(rules, outcomes);
}
