/**
 * @module sdk/thrown-error
 * What the SDK records of an error an application's code threw (a handler's error in a dead
 * letter, a step's error in the saga log): its message and its string `code`, as JSON.
 */

/** The message and string `code` of something thrown; the code is left out when it has none. */
export interface ThrownError {
  message: string;
  code?: string;
}

/** The message (the text of a non-Error) and the string `code`, when it has one, of `error`. */
export function thrownError(error: unknown): ThrownError {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? { message, code } : { message };
}
