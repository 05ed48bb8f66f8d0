/**
 * @module sdk/shutdown-signals
 * What the SDK does when the process is told to end (SIGTERM, SIGINT), in order: first every
 * registration deregisters and waits for the requests it is handling (`drain`), then the
 * queued spans are exported, then every store closes (`close`), since the draining requests
 * still use them. Then the signal does what it would have done (the process ends), unless
 * another listener, the application's own, took charge of it. One process listener serves
 * every task, and is there only while some task is.
 */
import { flushTelemetry } from "./telemetry.ts";

/** When a task runs: `drain` tasks all finish before `close` tasks start. */
export type ShutdownStage = "drain" | "close";

const tasks: Record<ShutdownStage, Set<() => Promise<void>>> = {
  drain: new Set(),
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
  const wanted = tasks.drain.size + tasks.close.size > 0;
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
  for (const stage of ["drain", "close"] as const) {
    const running = [...tasks[stage]];
    await Promise.allSettled(running.map((task) => task()));
    // Done, whether or not the task took itself back: the listener must not outlive them.
    for (const task of running) tasks[stage].delete(task);
    if (stage === "drain") await flushTelemetry().catch(() => {});
  }
  listen();
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}
