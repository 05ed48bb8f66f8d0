/**
 * @module plugins/threat-protection/body-inspection
 * The request body's pass-through on its way upstream: each chunk is scanned (see
 * json-scanner.ts, xml-scanner.ts) before it is passed on unchanged, so a refused body
 * never reaches the upstream whole, and nothing is held but the chunk in hand.
 */
import { Transform, type TransformCallback } from "node:stream";

/** What scans a body: throws when it refuses what it has read. */
export interface BodyScanner {
  write(chunk: Buffer): void;
  end(): void;
}

/** Passes the body on as it is, failing with the scanner's refusal when it refuses. */
export class BodyInspection extends Transform {
  readonly #scanner: BodyScanner;
  readonly #refused: (error: Error) => void;

  constructor(scanner: BodyScanner, refused: (error: Error) => void) {
    super();
    this.#scanner = scanner;
    this.#refused = refused;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#scanner.write(chunk);
    } catch (error) {
      this.#refused(error as Error);
      callback(error as Error);
      return;
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.#scanner.end();
    } catch (error) {
      this.#refused(error as Error);
      callback(error as Error);
      return;
    }
    callback();
  }
}
