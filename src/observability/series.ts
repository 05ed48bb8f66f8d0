/**
 * @module observability/series
 * Counters and histograms for the request path, as metric objects prom-client's registry
 * renders. prom-client's own label children hash their label values on every inc and
 * observe (a string join and a label check per call); here a child is created once with
 * its labels and recording is arithmetic on plain numbers. The text format stays
 * prom-client's: the registry asks `get()` for the values at scrape time.
 */

type Labels = Readonly<Record<string, string>>;

interface MetricValue {
  labels: Labels;
  value: number;
  metricName?: string;
}

/** What prom-client's Registry reads from a metric object. */
interface RenderedMetric {
  name: string;
  help: string;
  type: "counter" | "histogram";
  aggregator: "sum";
  values: MetricValue[];
}

/** One label set of a counter family: add to `value`. */
export class CounterChild {
  value = 0;
  readonly labels: Labels;

  constructor(labels: Labels) {
    this.labels = labels;
  }
}

/** Shared by both families: the name (prom-client renames counters for OpenMetrics) and labels. */
abstract class Family<Child extends { labels: Labels }> {
  /** prom-client's registry reads and (for OpenMetrics counters) rewrites this. */
  name: string;
  readonly help: string;
  readonly aggregator = "sum" as const;
  readonly #labelNames: readonly string[];
  readonly #children: Child[] = [];

  constructor(name: string, help: string, labelNames: readonly string[]) {
    this.name = name;
    this.help = help;
    this.#labelNames = labelNames;
  }

  /** A new child for these label values (in labelNames order). Create once, keep it. */
  child(...values: string[]): Child {
    if (values.length !== this.#labelNames.length) {
      throw new Error(`${this.name} takes ${this.#labelNames.length} label values`);
    }
    const labels = Object.fromEntries(this.#labelNames.map((label, i) => [label, values[i]!]));
    const child = this.create(labels);
    this.#children.push(child);
    return child;
  }

  protected abstract create(labels: Labels): Child;

  protected get children(): readonly Child[] {
    return this.#children;
  }
}

/** A counter whose children are plain numbers. */
export class CounterFamily extends Family<CounterChild> {
  readonly type = "counter" as const;

  protected create(labels: Labels): CounterChild {
    return new CounterChild(labels);
  }

  get(): RenderedMetric {
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values: this.children.map((child) => ({ labels: child.labels, value: child.value })),
    };
  }
}

/** One label set of a histogram family. */
export class HistogramChild {
  readonly labels: Labels;
  /** Per-bucket (not cumulative) counts; the last one is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  readonly #bounds: readonly number[];

  constructor(labels: Labels, bounds: readonly number[]) {
    this.labels = labels;
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.#bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

/** A histogram whose children keep plain bucket counts. */
export class HistogramFamily extends Family<HistogramChild> {
  readonly type = "histogram" as const;
  readonly #bounds: readonly number[];

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    bounds: readonly number[],
  ) {
    super(name, help, labelNames);
    this.#bounds = [...bounds].sort((a, b) => a - b);
  }

  protected create(labels: Labels): HistogramChild {
    return new HistogramChild(labels, this.#bounds);
  }

  get(): RenderedMetric {
    const values: MetricValue[] = [];
    for (const child of this.children) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += child.counts[i]!;
        values.push({
          labels: { ...child.labels, le: String(bound) },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      });
      values.push({
        labels: { ...child.labels, le: "+Inf" },
        value: child.count,
        metricName: `${this.name}_bucket`,
      });
      values.push({ labels: child.labels, value: child.sum, metricName: `${this.name}_sum` });
      values.push({ labels: child.labels, value: child.count, metricName: `${this.name}_count` });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    };
  }
}
