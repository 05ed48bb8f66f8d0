/**
 * @module plugins/compression/encoders
 * The compressing streams of a response body, one factory per coding with its level set
 * once. Each flushes after every chunk the upstream delivers, so a response the upstream
 * streams slowly (progress lines, NDJSON) reaches the client as it comes rather than when a
 * compressor's window fills; a body that arrives at once is one chunk and loses nothing.
 */
import type { Transform } from "node:stream";
import zlib from "node:zlib";
import type { Encoding } from "./negotiate.ts";

const { constants } = zlib;

/** Whether this Node has zstd (Node 22.15 and 23.8 on; Node 24 has it). */
export const zstdAvailable = typeof zlib.createZstdCompress === "function";

/** The codings this Node compresses with, in the default preference order. */
export const availableEncodings: readonly Encoding[] = zstdAvailable
  ? ["zstd", "br", "gzip"]
  : ["br", "gzip"];

/** The level of each coding. */
export interface EncodingLevels {
  gzip: number;
  br: number;
  zstd: number;
}

/**
 * Fast levels: a gateway compresses every response on the request path, so the CPU per
 * byte matters more than the last few percent of size. zstd 3 is zstd's own default.
 */
export const defaultLevels: EncodingLevels = { gzip: 1, br: 4, zstd: 3 };

/**
 * The highest zstd level accepted: above 19, zstd's window outgrows the 8 MB that HTTP
 * clients are required to decode (RFC 8878 section 3.1.1.1.2), and browsers refuse it.
 */
export const maxZstdLevel = 19;

/** Makes a new compressing stream for one response. */
export type EncoderFactory = (sizeHint: number | undefined) => Transform;

/** The stream factory for `encoding` at `levels`. */
export function encoderFactory(encoding: Encoding, levels: EncodingLevels): EncoderFactory {
  switch (encoding) {
    case "gzip": {
      const options = { level: levels.gzip, flush: constants.Z_SYNC_FLUSH };
      return () => zlib.createGzip(options);
    }
    case "br": {
      const quality = levels.br;
      return (sizeHint) =>
        zlib.createBrotliCompress({
          flush: constants.BROTLI_OPERATION_FLUSH,
          params: {
            [constants.BROTLI_PARAM_QUALITY]: quality,
            // Text modelling suits what is compressed here (the types are text-like).
            [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
            ...(sizeHint !== undefined && { [constants.BROTLI_PARAM_SIZE_HINT]: sizeHint }),
          },
        });
    }
    case "zstd": {
      if (!zstdAvailable) throw new Error("zstd needs a Node with zlib.createZstdCompress");
      const level = levels.zstd;
      const options = {
        flush: constants.ZSTD_e_flush,
        params: { [constants.ZSTD_c_compressionLevel]: level },
      };
      return (sizeHint) =>
        zlib.createZstdCompress(
          sizeHint === undefined || sizeHint > smallBody
            ? options
            : {
                flush: constants.ZSTD_e_flush,
                params: { ...options.params, ...smallZstdTables(sizeHint) },
              },
        );
    }
  }
}

/** Up to this many bytes, a body's known length sizes zstd's window and tables. */
const smallBody = 128 * 1024;

/**
 * zstd's window and match tables for a body of `size` bytes: zstd sizes them for an unknown
 * length by default (a 2 MB window at level 3), and setting them up costs more than
 * compressing a 10 KB body. A body longer than announced still compresses, a little less.
 */
function smallZstdTables(size: number): Record<number, number> {
  const windowLog = Math.max(10, Math.ceil(Math.log2(size + 1)));
  return {
    [constants.ZSTD_c_windowLog]: windowLog,
    [constants.ZSTD_c_hashLog]: Math.min(17, windowLog + 1),
    [constants.ZSTD_c_chainLog]: Math.min(16, windowLog),
  };
}
