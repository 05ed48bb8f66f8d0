/**
 * @module sdk/shutdown-signals
 * What the SDK does when the process is told to end (SIGTERM, SIGINT), in order: first every
 * registration deregisters and waits for the requests it is handling (`drain`); then event
 * subscriptions stop taking events and saga definitions new steps, and what they are running
 * is given `shutdownGraceMs` to end (`finish`); then the queued spans are exported; then the
 * buses close (`disconnect`: their outbox relays still use the stores), and last every store
 * (`close`), since everything before uses them. Then the signal does what it would have done
 * (the process ends), unless another listener, the application's own, took charge of it. One
 * process listener serves every task, and is there only while some task is.
 */
import { flushTelemetry } from "./telemetry.ts";

/** When a task runs: every task of a stage ends before the next stage's start, in this order. */
export type ShutdownStage = "drain" | "finish" | "disconnect" | "close";

const stages: readonly ShutdownStage[] = ["drain", "finish", "disconnect", "close"];

/** How long `finish` tasks give running event handlers and saga steps to end. */
export const shutdownGraceMs = 10_000;

/** `work`, or `shutdownGraceMs` passed, whichever comes first (a stage must not wait for ever). */
export async function withinGrace(work: Promise<unknown>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, shutdownGraceMs);
    timer.unref();
  });
  try {
    await Promise.race([work.then(() => {}), timeUp]);
  } finally {
    clearTimeout(timer);
  }
}

const tasks: Record<ShutdownStage, Set<() => Promise<void>>> = {
  drain: new Set(),
  finish: new Set(),
  disconnect: new Set(),
  close: new Set(),
};
let listening = false;

/**
 * Runs `task` at `stage` when SIGTERM or SIGINT arrives. Returns a function that takes the task
 * back (call it when the task's object closed by other means).
 */
export function onShutdownSignal(stage: ShutdownStage, task: () => Promise<void>): () => void {
  tasks[stage].add(task);
  listen();
  return () => {
    tasks[stage].delete(task);
    listen();
  };
}

/** Listens while some task waits for a signal, and only then. */
function listen(): void {
  const wanted = stages.some((stage) => tasks[stage].size > 0);
  if (wanted === listening) return;
  listening = wanted;
  if (wanted) {
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  } else {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  }
}

async function onSignal(signal: NodeJS.Signals): Promise<void> {
  for (const stage of stages) {
    const running = [...tasks[stage]];
    await Promise.allSettled(running.map((task) => task()));
    // Done, whether or not the task took itself back: the listener must not outlive them.
    for (const task of running) tasks[stage].delete(task);
    if (stage === "finish") await flushTelemetry().catch(() => {});
  }
  listen();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
