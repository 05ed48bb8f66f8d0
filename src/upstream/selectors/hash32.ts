/**
 * @module upstream/selectors/hash32
 * A fast, non-cryptographic 32-bit string hash for consistent hashing. Nobody can use it
 * to do harm: a client choosing keys that collide only ever lands on one target.
 */

/** FNV-1a over the string's UTF-16 code units (the same as over bytes for ASCII). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * MurmurHash3's finaliser: every input bit flips about half the output bits, which FNV-1a
 * alone does not do for short keys differing in their last character (IPs, counters).
 * A bijection on 32 bits, so distinct inputs stay distinct.
 */
export function mix32(value: number): number {
  value ^= value >>> 16;
  value = Math.imul(value, 0x85ebca6b);
  value ^= value >>> 13;
  value = Math.imul(value, 0xc2b2ae35);
  value ^= value >>> 16;
  return value >>> 0;
}

/** The hash used for both ring points and request keys. */
export function hash32(text: string): number {
  return mix32(fnv1a32(text));
}
