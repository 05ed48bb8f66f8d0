/**
 * @module pipeline/body-transform
 * Streaming transforms of a request's or a response's body that plugins ask for
 * (`ctx.transformRequestBody`, `ctx.transformResponseBody`): the streams, piped in the
 * order they were asked for, and the size bound on the body they read.
 */
import type { Transform } from "node:stream";

/** How much of the body a transform may read. */
export interface BodyTransformOptions {
  /**
   * Most bytes of the body as received (before any transform) that are read; a larger
   * body is refused: 413 for a request, 502 `GATEHOUSE_RESPONSE_TOO_LARGE` for a response.
   */
  maxSize: number;
}

/** The transforms of one body, in order, and the smallest bound any of them set. */
export interface BodyTransforms {
  readonly streams: Transform[];
  maxSize: number;
}

/** Adds `stream` after the transforms already asked for; the bound is the smallest asked. */
export function addBodyTransform(
  transforms: BodyTransforms | undefined,
  stream: Transform,
  options: BodyTransformOptions,
): BodyTransforms {
  if (!(Number.isSafeInteger(options.maxSize) && options.maxSize > 0)) {
    throw new Error(
      `a body transform's maxSize must be a positive integer, not ${options.maxSize}`,
    );
  }
  if (!transforms) return { streams: [stream], maxSize: options.maxSize };
  transforms.streams.push(stream);
  transforms.maxSize = Math.min(transforms.maxSize, options.maxSize);
  return transforms;
}
