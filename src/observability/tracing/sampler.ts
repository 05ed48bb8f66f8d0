/**
 * @module observability/tracing/sampler
 * The sampling decision for a trace starting or continuing at the gateway: by ratio on
 * the trace id, or, when `parentBased`, the caller's sampled flag. The ratio test is the
 * one OpenTelemetry's `TraceIdRatioBasedSampler` makes (the trace id's 32-bit words XORed
 * together, below `ratio × 2³²−1`), so the gateway and SDK-instrumented services given
 * the same ratio keep the same traces.
 */

/** Decides from a trace id whether a trace that starts here is recorded. */
export type RatioSampler = (traceId: string) => boolean;

export function ratioSampler(ratio: number): RatioSampler {
  if (!(ratio > 0)) return () => false;
  if (ratio >= 1) return () => true;
  const upperBound = Math.floor(ratio * 0xffffffff);
  return (traceId) => {
    let accumulation = 0;
    for (let at = 0; at < traceId.length; at += 8) {
      accumulation = (accumulation ^ Number.parseInt(traceId.slice(at, at + 8), 16)) >>> 0;
    }
    return accumulation < upperBound;
  };
}
