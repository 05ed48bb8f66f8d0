/**
 * @module plugins/compression/schema
 * The `compression` plugin's config: the codings in the server's order of preference, their
 * levels, the content types and minimum size worth compressing, and the opt-in decoding of
 * compressed request bodies with its bound.
 */
import { z } from "zod";
import { size } from "../../config/schema/fields.ts";
import { contentTypePattern, defaultContentTypes } from "./content-types.ts";
import { availableEncodings, defaultLevels, maxZstdLevel, zstdAvailable } from "./encoders.ts";

const encoding = z.enum(["br", "zstd", "gzip"]).refine((name) => name !== "zstd" || zstdAvailable, {
  message: "zstd needs Node 22.15 or later (this Node's zlib has no zstd)",
});

export const compressionSchema = z.strictObject({
  encodings: z
    .array(encoding)
    .min(1)
    .refine((list) => new Set(list).size === list.length, { message: "a coding is listed twice" })
    .default([...availableEncodings])
    .describe(
      "The codings offered, in the server's order of preference (used when the client rates several alike).",
    ),
  levels: z
    .strictObject({
      gzip: z.number().int().min(1).max(9).default(defaultLevels.gzip).describe("gzip level."),
      br: z.number().int().min(0).max(11).default(defaultLevels.br).describe("Brotli quality."),
      zstd: z
        .number()
        .int()
        .min(1)
        .max(maxZstdLevel)
        .default(defaultLevels.zstd)
        .describe("zstd level (above 19 HTTP clients may refuse the window)."),
    })
    .prefault({})
    .describe("Compression level per coding: gzip 1-9, br 0-11, zstd 1-19; fast by default."),
  types: z
    .array(
      z
        .string()
        .regex(
          contentTypePattern,
          "expected a media type: type/subtype, type/*, type/*+suffix or */*+suffix",
        ),
    )
    .min(1)
    .default([...defaultContentTypes])
    .describe("Content types compressed (text/event-stream never is). Replaces the default list."),
  minSize: size("1kb").describe(
    "Smallest Content-Length compressed; a response without one is compressed when its type is.",
  ),
  decompressRequests: z
    .boolean()
    .default(false)
    .describe(
      "Decode request bodies sent with Content-Encoding gzip, deflate, br or zstd before the upstream sees them.",
    ),
  maxDecompressedSize: size("10mb")
    .refine((bytes) => bytes > 0, { message: "must be more than 0 bytes" })
    .describe("Largest decoded request body; past it the request is refused with 413 at once."),
});

export type CompressionConfig = z.output<typeof compressionSchema>;
