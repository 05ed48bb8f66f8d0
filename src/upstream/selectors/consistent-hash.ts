/**
 * @module upstream/selectors/consistent-hash
 * Consistent hashing on a ring: the same key goes to the same target for as long as that
 * target is there, and when one of N targets goes, only its ~1/N of the keys move.
 */
import type { Target } from "../target.ts";
import { compileHashKey, type HashKey, type HashOn } from "./hash-key.ts";
import { HashRing } from "./hash-ring.ts";
import { hash32 } from "./hash32.ts";
import {
  admissible,
  type SelectionOptions,
  type SelectionRequest,
  type Selector,
} from "./selector.ts";

/**
 * Hashes the request's key (see hash-key) onto a ring built lazily from the targets array
 * and rebuilt only when a different array is passed. A key whose target cannot be picked
 * walks on to the next distinct target on the ring, so its keys spread over the others
 * and come back when it does. O(log points) a pick.
 */
export class ConsistentHashSelector implements Selector {
  readonly #key: HashKey;
  #targets: readonly Target[] | undefined;
  #ring: HashRing | undefined;

  constructor(hashOn: HashOn = { ip: true }) {
    this.#key = compileHashKey(hashOn);
  }

  select(
    targets: readonly Target[],
    request: SelectionRequest,
    options?: SelectionOptions,
  ): Target | undefined {
    const count = targets.length;
    if (count === 0) return undefined;
    if (targets !== this.#targets || this.#ring === undefined) {
      this.#ring = new HashRing(targets);
      this.#targets = targets;
    }
    const ring = this.#ring;
    let point = ring.find(hash32(this.#key(request)));
    const first = ring.owner(point);
    if (admissible(targets[first]!, options)) return targets[first];
    const seen = new Uint8Array(count);
    seen[first] = 1;
    let distinct = 1;
    for (let step = 1; step < ring.size && distinct < count; step++) {
      point = point + 1 === ring.size ? 0 : point + 1;
      const owner = ring.owner(point);
      if (seen[owner] === 1) continue;
      seen[owner] = 1;
      distinct++;
      if (admissible(targets[owner]!, options)) return targets[owner];
    }
    return undefined;
  }
}
