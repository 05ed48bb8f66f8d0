/**
 * @module observability/tracing/export-queue
 * Finished spans waiting for export and the batching that sends them: a batch leaves when
 * `maxBatchSize` spans are waiting or `exportDelay` after the first one waited, one export
 * at a time. Past `maxQueueSize` waiting spans new ones are dropped and counted: a slow or
 * absent collector never holds a request up or grows memory without bound (while an export
 * is retried, spans wait behind it under the same limit). These are the rules of
 * OpenTelemetry's `BatchSpanProcessor`, kept so the settings mean what they meant.
 *
 * A span is encoded straight into its batch's bytes (`begin`, write, `end`), between the
 * export request's head and tail, so a waiting span is a few hundred bytes in a reused
 * buffer rather than strings the garbage collector has to build and move, and a batch is
 * sent as it lies.
 */
import { JsonWriter } from "./json-writer.ts";

export interface ExportQueueOptions {
  maxQueueSize: number;
  maxBatchSize: number;
  /** Milliseconds a span may wait for a batch to fill. */
  exportDelay: number;
  /** The export request around its spans: `head + spans joined by "," + tail`. */
  head: string;
  tail: string;
  /** Told of spans that will never be exported, and why. */
  dropped?: (reason: SpanDropReason, spans: number) => void;
}

/**
 * Why spans were dropped: the queue was full, the gateway was stopping, or their export
 * failed for good (refused, or still failing when its retries ran out).
 */
export type SpanDropReason = "queue_full" | "stopped" | "export_failed";

/** Sends one export request, retries included; resolves true when the collector took it. */
export type SendBatch = (body: Buffer) => Promise<boolean>;

/** The bytes of one export request being filled. */
class Batch {
  readonly out: JsonWriter;
  spans = 0;

  constructor(bytes: Buffer, head: string) {
    this.out = new JsonWriter(bytes);
    this.out.utf8(head);
  }
}

const initialBatchBytes = 64 * 1024;
/** Buffers kept for reuse: the one being filled and the one being sent. */
const keptBuffers = 2;

export class SpanExportQueue {
  readonly #maxQueueSize: number;
  readonly #maxBatchSize: number;
  readonly #exportDelay: number;
  readonly #head: string;
  readonly #tail: string;
  readonly #send: SendBatch;
  readonly #onDropped: (reason: SpanDropReason, spans: number) => void;
  /** Full batches waiting, oldest first, then the one being filled. */
  readonly #full: Batch[] = [];
  #filling: Batch | undefined;
  #waiting = 0;
  readonly #spare: Buffer[] = [];
  #timer: NodeJS.Timeout | undefined;
  #exporting: Promise<void> | undefined;
  #closed = false;
  /** Spans dropped, for any reason. */
  dropped = 0;

  constructor(options: ExportQueueOptions, send: SendBatch) {
    this.#maxQueueSize = options.maxQueueSize;
    this.#maxBatchSize = Math.min(options.maxBatchSize, options.maxQueueSize);
    this.#exportDelay = options.exportDelay;
    this.#head = options.head;
    this.#tail = options.tail;
    this.#send = send;
    this.#onDropped = options.dropped ?? (() => {});
  }

  /**
   * Where to write the next span, undefined when it is dropped (queue full, or stopped).
   * The span is written whole and then `end` is called, before anything else is queued.
   */
  begin(): JsonWriter | undefined {
    if (this.#closed || this.#waiting >= this.#maxQueueSize) {
      this.#drop(this.#closed ? "stopped" : "queue_full", 1);
      return undefined;
    }
    let batch = this.#filling;
    if (batch === undefined) {
      batch = new Batch(this.#spare.pop() ?? Buffer.allocUnsafeSlow(initialBatchBytes), this.#head);
      this.#filling = batch;
    }
    if (batch.spans > 0) batch.out.byte(0x2c); // ","
    return batch.out;
  }

  /** The span `begin` gave room for is written. */
  end(): void {
    const batch = this.#filling!;
    batch.spans++;
    this.#waiting++;
    if (batch.spans >= this.#maxBatchSize) {
      this.#full.push(batch);
      this.#filling = undefined;
    }
    if (this.#exporting) return; // the export under way looks at the queue when it ends
    if (this.#full.length > 0) this.#exportNext();
    else this.#timer ??= setTimeout(this.#onTimer, this.#exportDelay).unref();
  }

  /** Exports what is queued now, in as many batches as it takes. */
  async flush(): Promise<void> {
    let batches = this.#full.length + 2;
    while (batches-- > 0 && (this.#exporting || this.#waiting > 0)) {
      if (!this.#exporting) this.#exportNext();
      await this.#exporting;
    }
  }

  /** Exports what is queued and refuses spans from now on. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.flush();
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    if (!this.#exporting) this.#exportNext();
  };

  #exportNext(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#full.shift() ?? this.#filling;
    if (batch === undefined) return;
    if (batch === this.#filling) this.#filling = undefined;
    this.#waiting -= batch.spans;
    batch.out.utf8(this.#tail);
    const spans = batch.spans;
    const bytes = batch.out.bytes;
    this.#exporting = this.#send(bytes.subarray(0, batch.out.length))
      .catch(() => false)
      .then((exported) => {
        if (!exported) this.#drop("export_failed", spans);
        if (this.#spare.length < keptBuffers) this.#spare.push(bytes);
        this.#afterExport();
      });
  }

  #drop(reason: SpanDropReason, spans: number): void {
    this.dropped += spans;
    this.#onDropped(reason, spans);
  }

  #afterExport(): void {
    this.#exporting = undefined;
    if (this.#full.length > 0) this.#exportNext();
    else if (this.#filling !== undefined && !this.#closed) {
      this.#timer ??= setTimeout(this.#onTimer, this.#exportDelay).unref();
    }
  }
}
