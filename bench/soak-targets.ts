/**
 * @module bench/soak-targets
 * The soak's upstream service: several target processes on fixed loopback ports, any of
 * which can be killed (SIGKILL, as a crash) and started again on the same port.
 */
import { fileURLToPath } from "node:url";
import { type Child, freePort, startChild, stopChild, waitForListening } from "./processes.ts";

const script = fileURLToPath(new URL("./soak-upstream.ts", import.meta.url));
const startupMs = 15_000;

export class SoakTargets {
  readonly ports: number[];
  readonly #children: (Child | undefined)[];

  private constructor(ports: number[]) {
    this.ports = ports;
    this.#children = ports.map(() => undefined);
  }

  /** Starts `count` targets on free ports. */
  static async start(count: number): Promise<SoakTargets> {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await freePort());
    const targets = new SoakTargets(ports);
    await Promise.all(ports.map((_, i) => targets.revive(i)));
    return targets;
  }

  /** How many are running. */
  get up(): number {
    return this.#children.filter(Boolean).length;
  }

  /** SIGKILL: no graceful close, the kernel resets its connections. */
  async kill(index: number): Promise<void> {
    const child = this.#children[index];
    if (!child) return;
    this.#children[index] = undefined;
    child.process.kill("SIGKILL");
    await child.exited;
  }

  /** Starts target `index` again (or the first time) on its port. */
  async revive(index: number): Promise<void> {
    if (this.#children[index]) return;
    const port = this.ports[index]!;
    const child = startChild(`soak-target-${index}`, process.execPath, [
      script,
      String(port),
      `target-${index}`,
    ]);
    this.#children[index] = child;
    await waitForListening(child, port, startupMs);
  }

  async stop(): Promise<void> {
    await Promise.all(this.#children.map((child) => child && stopChild(child, 1_000)));
    this.#children.fill(undefined);
  }
}
