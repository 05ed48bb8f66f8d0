/**
 * @module observability/tracing/json-writer
 * JSON written straight into a growable byte buffer, for spans encoded where they end:
 * the fixed parts are bytes encoded once and copied, the values are written as they come,
 * so a span leaves no strings behind to concatenate, flatten and collect.
 */

/** Printable ASCII without `"` or `\`: written between quotes as it is. */
const plainText = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/** Text encoded once, to be copied into every span that has it (printable ASCII). */
export function jsonPiece(text: string): Buffer {
  return Buffer.from(text, "latin1");
}

export class JsonWriter {
  bytes: Buffer;
  /** Bytes written so far, from the start of `bytes`. */
  length = 0;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  /** Bytes written as they are (a piece from `jsonPiece`). */
  piece(piece: Uint8Array): void {
    this.#room(piece.length).set(piece, this.length);
    this.length += piece.length;
  }

  /** One byte (an ASCII character code). */
  byte(code: number): void {
    this.#room(1)[this.length++] = code;
  }

  /** Text known to be printable ASCII with nothing to escape (hex ids, numbers). */
  ascii(text: string): void {
    this.length += this.#room(text.length).write(text, this.length, "latin1");
  }

  /** Any text as UTF-8, as it is (already JSON). */
  utf8(text: string): void {
    this.length += this.#room(text.length * 3).write(text, this.length, "utf8");
  }

  /**
   * A JSON string literal of any text, given in up to three parts (joined here rather than
   * concatenated first); most values (paths, methods, ids) need no escaping.
   */
  string(text: string, second = "", third = ""): void {
    if (plainText.test(text) && plainText.test(second) && plainText.test(third)) {
      const bytes = this.#room(text.length + second.length + third.length + 2);
      let at = this.length;
      bytes[at++] = 0x22;
      at += bytes.write(text, at, "latin1");
      if (second !== "") at += bytes.write(second, at, "latin1");
      if (third !== "") at += bytes.write(third, at, "latin1");
      bytes[at++] = 0x22;
      this.length = at;
    } else {
      this.utf8(JSON.stringify(text + second + third));
    }
  }

  /** A whole number in decimal, zero-padded to at least `width` digits, without quotes. */
  integer(value: number, width = 1): void {
    if (!Number.isSafeInteger(value) || value < 0) {
      this.ascii(String(Number.isFinite(value) ? Math.trunc(value) : 0));
      return;
    }
    let digits = 1;
    for (let rest = value; rest >= 10; rest = Math.floor(rest / 10)) digits++;
    if (digits < width) digits = width;
    const bytes = this.#room(digits);
    let at = this.length + digits;
    this.length = at;
    let rest = value;
    for (let i = 0; i < digits; i++) {
      bytes[--at] = 0x30 + (rest % 10);
      rest = Math.floor(rest / 10);
    }
  }

  /** A number from 0 to 999 as exactly three digits. */
  threeDigits(value: number): void {
    const bytes = this.#room(3);
    const tens = Math.floor(value / 10);
    bytes[this.length] = 0x30 + Math.floor(tens / 10);
    bytes[this.length + 1] = 0x30 + (tens % 10);
    bytes[this.length + 2] = 0x30 + (value - tens * 10);
    this.length += 3;
  }

  /** The last byte written (0 when none). */
  get last(): number {
    return this.length === 0 ? 0 : this.bytes[this.length - 1]!;
  }

  /** Makes room for `count` more bytes and returns the buffer to write them into. */
  #room(count: number): Buffer {
    const needed = this.length + count;
    if (needed > this.bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(needed, this.bytes.length * 2));
      this.bytes.copy(grown, 0, 0, this.length);
      this.bytes = grown;
    }
    return this.bytes;
  }
}
