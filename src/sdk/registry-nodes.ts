/**
 * @module sdk/registry-nodes
 * Several registry URLs (gateway nodes of one registry) and which one is in use: the first
 * that answers, kept until it fails (it cannot be reached, times out, or answers 5xx), then
 * the next in the list, round to the first again. Sticking to one node keeps an instance's
 * heartbeats on the node that saw its last ones (each node tells only the heartbeats it
 * took), and a node that fails is tried again only once the others have failed too.
 */

/** The registry URLs of one client or registration, and the one in use. */
export class RegistryNodes {
  readonly #bases: readonly string[];
  #at = 0;

  /** `bases`: base URLs without a trailing slash, in the order they are preferred. */
  constructor(bases: readonly string[]) {
    this.#bases = bases;
  }

  /** The base URL in use. */
  get current(): string {
    return this.#bases[this.#at]!;
  }

  /** Every base URL once, the one in use first, then those after it in the list (wrapping). */
  *inTurn(): Generator<string> {
    const start = this.#at;
    for (let i = 0; i < this.#bases.length; i++)
      yield this.#bases[(start + i) % this.#bases.length]!;
  }

  /** `base` failed: if it is the one in use, the next in the list is, from now on. */
  failed(base: string): void {
    if (this.#bases[this.#at] === base) this.#at = (this.#at + 1) % this.#bases.length;
  }
}

/**
 * Whether an answer's status says to try another node: 0 (no answer: the node could not
 * be reached, or took too long) or 5xx (it cannot serve the registry now, e.g. its etcd is
 * out of reach). Any other answer is the registry's, and holds on every node.
 */
export function triesAnotherNode(status: number): boolean {
  return status === 0 || status >= 500;
}
