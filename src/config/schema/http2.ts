/**
 * @module config/schema/http2
 * `gateway.limits.http2`: what one HTTP/2 client connection may ask of the gateway, and
 * what happens past it (see docs/http2.md). Static: part of `gateway`.
 */
import { z } from "zod";

const perSecond = (fallback: number, what: string) =>
  z
    .number()
    .int()
    .min(0)
    .default(fallback)
    .describe(
      `${what} Past it the connection gets GOAWAY ENHANCE_YOUR_CALM and is closed, counted in \`gatehouse_http2_sessions_closed_total\`. 0 means no limit.`,
    );

export const http2LimitsSchema = z
  .strictObject({
    maxConcurrentStreams: z
      .number()
      .int()
      .min(1)
      .max(2 ** 31 - 1)
      .default(100)
      .describe(
        "Requests (streams) one HTTP/2 connection may have open at once, announced to the client in SETTINGS_MAX_CONCURRENT_STREAMS; a stream over it is refused with RST_STREAM REFUSED_STREAM, which clients retry.",
      ),
    maxResetsPerSecond: perSecond(
      200,
      "Streams one connection may cancel (RST_STREAM from the client) in one second before their responses finished: the rapid-reset defence.",
    ),
    maxPingsPerSecond: perSecond(100, "PING frames one connection may send in one second."),
    maxSettingsPerSecond: perSecond(100, "SETTINGS frames one connection may send in one second."),
    maxRefusedStreams: z
      .number()
      .int()
      .min(0)
      .default(100)
      .describe(
        "Streams refused on one connection (over `maxConcurrentStreams`, or while it closes) after which the connection is closed as misbehaving (GOAWAY, counted as `protocol_error`).",
      ),
    maxInvalidFrames: z
      .number()
      .int()
      .min(0)
      .default(1000)
      .describe(
        "Invalid frames one connection may send before it is closed (GOAWAY, counted as `protocol_error`).",
      ),
  })
  .prefault({})
  .describe(
    "Limits on each HTTP/2 client connection (listeners with `http2: true`). Header lists are held to `maxHeaderSize` and `maxHeaderCount`, as HTTP/1.1 requests are; an idle connection closes after `keepAliveTimeout`.",
  );
