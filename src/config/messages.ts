/**
 * @module config/messages
 * Turns zod's validation issues into sentences for the person editing the config file
 * ("must be at least 1", not "Too small: expected number to be >=1"), each tied to the
 * place in the config it is about.
 */
import type { z } from "zod";
import type { PathProblem } from "./semantics.ts";
import { closest, knownKeysAt } from "./suggest.ts";

type Issue = z.core.$ZodIssue;
type Path = (string | number)[];

/** A problem at `path`; with `key` set it is about that key of the map at `path`. */
export interface IssueProblem extends PathProblem {
  key?: string;
}

/** The problems one zod issue stands for (an unknown-keys issue names several keys). */
export function describeIssue(
  issue: Issue,
  input: unknown,
  schema: z.ZodType,
  base: Path = [],
): IssueProblem[] {
  const path: Path = [...base, ...issue.path.map((s) => (typeof s === "number" ? s : String(s)))];
  const value = valueAt(input, path);
  const problem = (message: string): IssueProblem[] => [{ path, message }];
  switch (issue.code) {
    case "unrecognized_keys": {
      const known = knownKeysAt(schema, path);
      return issue.keys.map((key) => {
        const hint = closest(key, known);
        return { path, key, message: `unknown key "${key}"${didYouMean(hint)}` };
      });
    }
    case "invalid_type":
      if (value === undefined) return problem("required key is missing");
      if (!isZodDefault(issue.message)) return problem(issue.message);
      return problem(`expected ${noun(issue.expected)}, got ${show(value)}`);
    case "invalid_union": {
      if (!isZodDefault(issue.message)) return problem(issue.message);
      // The branch whose type fits the value says what is wrong inside it.
      const fitting = issue.errors.find((branch) => !branch.some(isWrongTypeHere));
      if (fitting) return fitting.flatMap((inner) => describeIssue(inner, input, schema, path));
      const expected = issue.errors.flatMap((branch) =>
        branch
          .filter(isWrongTypeHere)
          .map((inner) => noun((inner as { expected: string }).expected)),
      );
      return problem(`expected ${[...new Set(expected)].join(" or ")}, got ${show(value)}`);
    }
    case "too_small":
      return problem(isZodDefault(issue.message) ? tooSmall(issue) : issue.message);
    case "too_big":
      return problem(isZodDefault(issue.message) ? tooBig(issue) : issue.message);
    case "invalid_value": {
      if (!isZodDefault(issue.message)) return problem(issue.message);
      const allowed = issue.values.map((v) => JSON.stringify(v));
      const hint = closest(String(value), issue.values.map(String));
      return problem(
        allowed.length === 1
          ? `must be ${allowed[0]}`
          : `must be one of ${allowed.join(", ")}${didYouMean(hint)}`,
      );
    }
    default:
      return problem(issue.message.replace(/^Invalid input: /, ""));
  }
}

/** zod's own wording (replaced here) as opposed to a message written in the schema. */
const isZodDefault = (message: string): boolean =>
  /^(Invalid input|Invalid option|Too small|Too big)\b/.test(message);

const isWrongTypeHere = (issue: Issue): boolean =>
  issue.code === "invalid_type" && issue.path.length === 0;

function tooSmall(issue: Extract<Issue, { code: "too_small" }>): string {
  const min = Number(issue.minimum);
  switch (issue.origin) {
    case "number":
    case "int":
      return issue.inclusive ? `must be at least ${min}` : `must be greater than ${min}`;
    case "string":
      return min <= 1 ? "must not be empty" : `must be at least ${min} characters long`;
    case "array":
      return min <= 1 ? "must list at least one item" : `must list at least ${min} items`;
    default:
      return issue.message;
  }
}

function tooBig(issue: Extract<Issue, { code: "too_big" }>): string {
  const max = Number(issue.maximum);
  switch (issue.origin) {
    case "number":
    case "int":
      return issue.inclusive ? `must be at most ${max}` : `must be less than ${max}`;
    case "string":
      return `must be at most ${max} characters long`;
    case "array":
      return `must list at most ${max} items`;
    default:
      return issue.message;
  }
}

const didYouMean = (hint: string | undefined): string => (hint ? ` (did you mean "${hint}"?)` : "");

const nouns: Record<string, string> = {
  number: "a number",
  int: "a whole number",
  string: "a string",
  boolean: "true or false",
  object: "a map of keys to values",
  array: "a list",
};

const noun = (expected: string): string => nouns[expected] ?? expected;

/** How a value the user wrote is named back to them. */
function show(value: unknown): string {
  if (value === null) return "nothing (the value is empty)";
  if (typeof value === "string") return `the string ${JSON.stringify(value)}`;
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a map";
  return String(value);
}

function valueAt(input: unknown, path: readonly (string | number)[]): unknown {
  let current = input;
  for (const segment of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}
