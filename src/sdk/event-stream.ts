/**
 * @module sdk/event-stream
 * A reader of `text/event-stream` (server-sent events) as the HTML standard defines it:
 * fed text as it arrives, in chunks cut anywhere, it hands over each complete event
 * (its `event`, `data` and `id` fields); comment lines (the registry's keepalives) are
 * skipped.
 */

/** One server-sent event. */
export interface ServerSentEvent {
  /** The `event:` field; `message` when none was given. */
  event: string;
  /** The `data:` lines, joined with newlines. */
  data: string;
  /** The `id:` field, when given. */
  id: string | undefined;
}

/** Splits an event stream into events; `onEvent` is called for each complete one. */
export class EventStreamReader {
  readonly #onEvent: (event: ServerSentEvent) => void;
  #buffer = "";
  #event = "";
  #data: string[] = [];
  #id: string | undefined;

  constructor(onEvent: (event: ServerSentEvent) => void) {
    this.#onEvent = onEvent;
  }

  /** Reads a chunk of the stream; events completed by it are dispatched before it returns. */
  push(chunk: string): void {
    this.#buffer += chunk;
    let start = 0;
    for (;;) {
      const end = this.#lineEnd(start);
      if (end === -1) break;
      this.#line(this.#buffer.slice(start, end));
      // CRLF is one line end; a CR at the end of the chunk may yet be followed by its LF.
      start = this.#buffer[end] === "\r" && this.#buffer[end + 1] === "\n" ? end + 2 : end + 1;
    }
    this.#buffer = this.#buffer.slice(start);
  }

  /** Where the line starting at `start` ends (CR, LF or CRLF); -1 if it has not ended yet. */
  #lineEnd(start: number): number {
    for (let i = start; i < this.#buffer.length; i++) {
      const char = this.#buffer[i];
      if (char === "\n") return i;
      // A lone CR at the very end might be the first half of CRLF: wait for more.
      if (char === "\r") return i + 1 < this.#buffer.length ? i : -1;
    }
    return -1;
  }

  #line(line: string): void {
    if (line === "") {
      this.#dispatch();
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.#event = value;
        break;
      case "data":
        this.#data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.#id = value;
        break;
    }
  }

  #dispatch(): void {
    if (this.#data.length === 0) {
      this.#event = "";
      return;
    }
    const event: ServerSentEvent = {
      event: this.#event || "message",
      data: this.#data.join("\n"),
      id: this.#id,
    };
    this.#event = "";
    this.#data = [];
    this.#onEvent(event);
  }
}
