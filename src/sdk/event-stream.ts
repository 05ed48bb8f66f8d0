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
  /** The last chunk ended with a CR: an LF starting the next one belongs to it. */
  #afterCr = false;

  constructor(onEvent: (event: ServerSentEvent) => void) {
    this.#onEvent = onEvent;
  }

  /** Reads a chunk of the stream; events completed by it are dispatched before it returns. */
  push(chunk: string): void {
    let text = this.#buffer + chunk;
    // The LF of a CRLF whose CR ended the previous chunk.
    if (this.#afterCr && text.startsWith("\n") && this.#buffer === "") text = text.slice(1);
    this.#afterCr = false;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const char = text[i];
      if (char !== "\n" && char !== "\r") continue;
      this.#line(text.slice(start, i));
      if (char === "\r") {
        if (i + 1 === text.length) this.#afterCr = true;
        else if (text[i + 1] === "\n") i++;
      }
      start = i + 1;
    }
    this.#buffer = text.slice(start);
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
