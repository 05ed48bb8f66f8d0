/**
 * @module sdk/events/subjects
 * NATS subject rules, shared by both transports: which subjects and durable names are
 * valid, whether a filter (`orders.*`, `orders.>`) matches a subject, and which stream
 * stores a subject (a declared one, else one named after the subject's first token).
 */
import type { StreamDeclaration } from "./event-types.ts";
import { EventsError } from "./events-error.ts";

const tokenPattern = /^[^\s.*>]+$/;
const durablePattern = /^[A-Za-z0-9_-]{1,128}$/;

/** Throws unless `subject` is a concrete subject to publish on (no wildcards, no empty tokens). */
export function checkSubject(subject: string): void {
  if (typeof subject !== "string" || !subject.split(".").every((token) => tokenPattern.test(token)))
    throw new EventsError(
      "GATEHOUSE_EVENTS_INVALID",
      `subject ${JSON.stringify(subject)}: dot-separated tokens without spaces, '*' or '>'`,
    );
}

/** Throws unless `filter` is a valid subject filter (`*` for one token, `>` for the rest). */
export function checkFilter(filter: string): void {
  const tokens = typeof filter === "string" ? filter.split(".") : [""];
  const valid = tokens.every(
    (token, at) =>
      tokenPattern.test(token) || token === "*" || (token === ">" && at === tokens.length - 1),
  );
  if (!valid)
    throw new EventsError(
      "GATEHOUSE_EVENTS_INVALID",
      `subject filter ${JSON.stringify(filter)}: tokens, '*' for one token, '>' last for the rest`,
    );
}

/** Throws unless `durable` can name a durable consumer (letters, digits, `_`, `-`). */
export function checkDurable(durable: string): void {
  if (typeof durable !== "string" || !durablePattern.test(durable))
    throw new EventsError(
      "GATEHOUSE_EVENTS_INVALID",
      `durable ${JSON.stringify(durable)}: 1-128 letters, digits, '_' or '-'`,
    );
}

/** Whether `filter` (which may hold `*` and a final `>`) matches the concrete `subject`. */
export function subjectMatches(filter: string, subject: string): boolean {
  const want = filter.split(".");
  const have = subject.split(".");
  for (let at = 0; at < want.length; at++) {
    if (want[at] === ">") return have.length > at;
    if (at >= have.length) return false;
    if (want[at] !== "*" && want[at] !== have[at]) return false;
  }
  return want.length === have.length;
}

/** Whether every subject `inner` matches is also matched by `outer`. */
export function filterCovers(outer: string, inner: string): boolean {
  const wide = outer.split(".");
  const narrow = inner.split(".");
  for (let at = 0; at < wide.length; at++) {
    if (wide[at] === ">") return narrow.length > at;
    if (at >= narrow.length || narrow[at] === ">") return false;
    if (wide[at] !== "*" && (narrow[at] === "*" || wide[at] !== narrow[at])) return false;
  }
  return wide.length === narrow.length;
}

/**
 * The stream that stores `subject` (concrete or a filter): the first declared stream with a
 * subject covering it, else the stream named after its first token, with subjects `token` and
 * `token.>`.
 */
export function streamFor(
  subject: string,
  declared: readonly StreamDeclaration[],
): StreamDeclaration {
  for (const stream of declared) {
    if (stream.subjects.some((covering) => filterCovers(covering, subject))) return stream;
  }
  const first = subject.split(".")[0]!;
  if (!tokenPattern.test(first))
    throw new EventsError(
      "GATEHOUSE_EVENTS_INVALID",
      `subject ${JSON.stringify(subject)}: its first token must be concrete (it names the stream), or declare a stream for it`,
    );
  return { name: first, subjects: [first, `${first}.>`] };
}
