/**
 * @module plugins/threat-protection/json-scanner
 * A byte scanner of a JSON body as it streams: it tracks only structure (containers,
 * strings, where a value starts) so it can refuse a body the moment it passes a limit, with
 * memory bounded by `maxDepth` and the length of string it hands to the pattern check. It
 * is no parser: what it lets through is bracket-balanced text of JSON's alphabet, which the
 * upstream still parses itself.
 */
import { GatehouseError } from "../../errors.ts";

/** The limits of one JSON body. */
export interface JsonLimits {
  maxDepth: number;
  maxKeys: number;
  maxArrayLength: number;
  maxStringLength: number;
  maxKeyLength: number;
  maxSize: number;
}

/** A body refused for passing one of its limits, named (the metric's rule is `json-<limit>`). */
export class JsonLimitError extends GatehouseError {
  readonly limit: keyof JsonLimits;

  constructor(limit: keyof JsonLimits, value: number) {
    super("GATEHOUSE_THREAT_JSON_LIMIT", `The JSON body passes the route's ${limit} (${value})`);
    this.limit = limit;
  }
}

/** Called with each string (a key or a value), decoded, cut at the scan length. */
export type JsonStringSink = (text: string) => void;

/**
 * Which strings the sink wants: those with at least one byte marked here (as decoded, within
 * the scan length). The others are never made into strings: most keys and ids are not.
 */
export type WantedBytes = Uint8Array;

const OBJECT = 1;
const ARRAY = 2;

// Bytes allowed outside strings besides structure: whitespace, numbers, true/false/null.
const scalarByte = new Uint8Array(256);
for (const c of "0123456789-+.eEtrufalsn") scalarByte[c.charCodeAt(0)] = 1;
const spaceByte = new Uint8Array(256);
for (const c of " \t\r\n") spaceByte[c.charCodeAt(0)] = 1;
const simpleEscape: Record<number, number> = { 98: 8, 102: 12, 110: 10, 114: 13, 116: 9 };

/** Scans one body; `write` each chunk, then `end`. Throws a GatehouseError when refused. */
export class JsonScanner {
  readonly #limits: JsonLimits;
  readonly #sink: JsonStringSink | undefined;
  readonly #types: Uint8Array;
  readonly #counts: Int32Array;
  #depth = 0;
  #size = 0;
  /** In an object, the next string is a key (after `{` or `,`). */
  #expectKey = false;
  /** In an array, the next value starts an element (after `[` or `,`). */
  #pending = false;
  #inString = false;
  #isKey = false;
  #stringLength = 0;
  /** 0: none; 1: after a backslash; 2-5: reading the hex digits of `\u`. */
  #escape = 0;
  #unicode = 0;
  readonly #text: Buffer | undefined;
  #textLength = 0;
  readonly #wanted: WantedBytes | undefined;
  /** The string so far has a wanted byte. */
  #isWanted = false;

  constructor(limits: JsonLimits, sink?: JsonStringSink, scanLength = 0, wanted?: WantedBytes) {
    this.#limits = limits;
    this.#sink = sink;
    this.#wanted = wanted;
    this.#types = new Uint8Array(limits.maxDepth + 1);
    this.#counts = new Int32Array(limits.maxDepth + 1);
    // Room for a cut string's last character decoded from `\uXXXX` (3 bytes of UTF-8).
    if (sink) this.#text = Buffer.allocUnsafe(scanLength + 3);
  }

  write(chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#size > this.#limits.maxSize) this.#refuse("maxSize", this.#limits.maxSize);
    const n = chunk.length;
    // Where the next backslash is, searched once per chunk and again only when passed.
    let backslash = -1;
    for (let i = 0; i < n; i++) {
      const b = chunk[i]!;
      if (this.#inString) {
        if (this.#escape !== 0) this.#escaped(b);
        else if (b === 0x22) this.#endString();
        else if (b === 0x5c) this.#escape = 1;
        else {
          // A run of plain characters: up to the next quote or backslash, found natively.
          if (backslash < i) backslash = indexOrEnd(chunk, 0x5c, i);
          const quote = indexOrEnd(chunk, 0x22, i);
          const end = Math.min(quote, backslash);
          this.#grow(end - i);
          this.#keepRun(chunk, i, end);
          i = end - 1;
        }
      } else if (spaceByte[b] === 1) {
      } else if (b === 0x22) this.#startString();
      else if (b === 0x7b || b === 0x5b) this.#open(b === 0x7b ? OBJECT : ARRAY);
      else if (b === 0x7d || b === 0x5d) this.#close(b === 0x7d ? OBJECT : ARRAY);
      else if (b === 0x2c) this.#comma();
      else if (b === 0x3a) {
        if (this.#types[this.#depth] !== OBJECT) this.#invalid("a colon outside an object");
      } else if (scalarByte[b] === 1) this.#value();
      else this.#invalid(`an unexpected byte 0x${b.toString(16)}`);
    }
  }

  /** The body ended: it must not stop inside a string or a container. */
  end(): void {
    if (this.#inString || this.#depth > 0) this.#invalid("the body ends inside a value");
  }

  #startString(): void {
    const top = this.#types[this.#depth];
    this.#isKey = top === OBJECT && this.#expectKey;
    if (this.#isKey) {
      this.#expectKey = false;
      if (++this.#counts[this.#depth]! > this.#limits.maxKeys) {
        this.#refuse("maxKeys", this.#limits.maxKeys);
      }
    } else this.#value();
    this.#inString = true;
    this.#stringLength = 0;
    this.#textLength = 0;
    this.#isWanted = this.#wanted === undefined;
  }

  #grow(bytes: number): void {
    this.#stringLength += bytes;
    if (this.#isKey) {
      if (this.#stringLength > this.#limits.maxKeyLength) {
        this.#refuse("maxKeyLength", this.#limits.maxKeyLength);
      }
    } else if (this.#stringLength > this.#limits.maxStringLength) {
      this.#refuse("maxStringLength", this.#limits.maxStringLength);
    }
  }

  #endString(): void {
    this.#inString = false;
    if (this.#sink && this.#textLength > 0 && this.#isWanted) {
      this.#sink(this.#text!.toString("utf8", 0, this.#textLength));
    }
  }

  #escaped(b: number): void {
    this.#grow(1);
    if (this.#escape === 1) {
      if (b === 0x75) {
        this.#escape = 2;
        this.#unicode = 0;
        return;
      }
      this.#escape = 0;
      const decoded = simpleEscape[b] ?? (b === 0x22 || b === 0x5c || b === 0x2f ? b : -1);
      if (decoded === -1) this.#invalid("an unknown escape in a string");
      this.#keep(decoded);
      return;
    }
    const digit = hexValue(b);
    if (digit === -1) this.#invalid("a bad \\u escape in a string");
    this.#unicode = this.#unicode * 16 + digit;
    if (++this.#escape < 6) return;
    this.#escape = 0;
    const code = this.#unicode;
    // Surrogates stay as `?`: no pattern looks for a character outside the BMP.
    if (code < 0x80) this.#keep(code);
    else if (this.#text !== undefined && this.#textLength < this.#text.length - 3) {
      const char = code >= 0xd800 && code <= 0xdfff ? "?" : String.fromCharCode(code);
      this.#textLength += this.#text.write(char, this.#textLength);
    }
  }

  /** Keeps `chunk[from..to)` of the string's text, as much as the scan length allows. */
  #keepRun(chunk: Buffer, from: number, to: number): void {
    const text = this.#text;
    if (text === undefined) return;
    const room = text.length - 3 - this.#textLength;
    if (room <= 0) return;
    const end = to - from > room ? from + room : to;
    this.#textLength += chunk.copy(text, this.#textLength, from, end);
    const wanted = this.#wanted;
    if (wanted === undefined || this.#isWanted) return;
    for (let i = from; i < end; i++) {
      if (wanted[chunk[i]!] === 1) {
        this.#isWanted = true;
        return;
      }
    }
  }

  #keep(byte: number): void {
    if (this.#text !== undefined && this.#textLength < this.#text.length - 3) {
      if (this.#wanted?.[byte] === 1) this.#isWanted = true;
      this.#text[this.#textLength++] = byte;
    }
  }

  /** A value starts here: in an array, it is one more element. */
  #value(): void {
    if (this.#pending) {
      this.#pending = false;
      if (++this.#counts[this.#depth]! > this.#limits.maxArrayLength) {
        this.#refuse("maxArrayLength", this.#limits.maxArrayLength);
      }
    }
  }

  #open(type: number): void {
    this.#value();
    if (this.#depth >= this.#limits.maxDepth) this.#refuse("maxDepth", this.#limits.maxDepth);
    this.#depth++;
    this.#types[this.#depth] = type;
    this.#counts[this.#depth] = 0;
    this.#expectKey = type === OBJECT;
    this.#pending = type === ARRAY;
  }

  #close(type: number): void {
    if (this.#types[this.#depth] !== type || this.#depth === 0) {
      this.#invalid("a closing bracket that matches no opening one");
    }
    this.#depth--;
    this.#expectKey = false;
    this.#pending = false;
  }

  #comma(): void {
    const top = this.#types[this.#depth];
    if (this.#depth === 0) this.#invalid("a comma outside any container");
    if (top === OBJECT) this.#expectKey = true;
    else this.#pending = true;
  }

  #refuse(limit: keyof JsonLimits, value: number): never {
    throw new JsonLimitError(limit, value);
  }

  #invalid(what: string): never {
    throw new GatehouseError("GATEHOUSE_THREAT_JSON_INVALID", `The body is not JSON: ${what}`);
  }
}

/** The index of `byte` in `chunk` from `from`, or the chunk's length. */
function indexOrEnd(chunk: Buffer, byte: number, from: number): number {
  const at = chunk.indexOf(byte, from);
  return at === -1 ? chunk.length : at;
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const lower = b | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}
