/**
 * @module config/secret-values
 * The values the loader substituted from `${env:…}`, `${file:…}` and `${enc:…}`, kept so
 * that anything printing text (config errors, the process log, later the admin export and
 * the audit log) can blank them out. The loader fills one registry per load and also adds
 * to `processSecrets`, the union of every secret this process has read. A load's registry
 * also lists the files `${file:…}` read, which the file provider watches.
 */

/** Where a substituted value came from. */
export type SecretSource = "env" | "file" | "enc";

/** What stands in for a secret in anything printed. */
export const redacted = "[redacted]";

// Shorter environment values are ports, levels and flags (`8080`, `info`, `true`): blanking
// them out of every message would hide nothing worth hiding and make the log unreadable.
// `${file:…}` and `${enc:…}` are secrets by choice, whatever their length.
const minimumEnvLength = 8;

/** A set of secret values with the means to take them out of text and data. */
export class SecretValues {
  #values = new Set<string>();
  #pattern: RegExp | undefined;
  #files = new Set<string>();

  /** Records `value` as secret; returns whether it is tracked (see the length rule above). */
  add(value: string, source: SecretSource): boolean {
    if (value === "" || (source === "env" && value.length < minimumEnvLength)) return false;
    if (!this.#values.has(value)) {
      this.#values.add(value);
      this.#pattern = undefined;
    }
    return true;
  }

  /** Whether `value` is one of the secrets. */
  has(value: string): boolean {
    return this.#values.has(value);
  }

  /** Adds every value of `other`. */
  addAll(other: SecretValues): void {
    for (const value of other.#values) this.add(value, "enc");
  }

  /** Every secret value, for a worker thread that must redact the same ones (server/workers). */
  values(): string[] {
    return [...this.#values];
  }

  /** Records that a `${file:…}` reference read `path` (absolute), whatever its content. */
  addFile(path: string): void {
    this.#files.add(path);
  }

  /** The absolute paths of the files `${file:…}` references read, in the order first read. */
  get files(): string[] {
    return [...this.#files];
  }

  get size(): number {
    return this.#values.size;
  }

  /** Whether `text` contains any secret. */
  appearsIn(text: string): boolean {
    return this.size > 0 && this.#regex().test(text);
  }

  /** `text` with every secret replaced by `[redacted]`. */
  redactText(text: string): string {
    if (this.size === 0) return text;
    return text.replace(this.#regex(), redacted);
  }

  /** A copy of `value` (JSON-like data) with secrets taken out of every string in it. */
  redactDeep<T>(value: T): T {
    if (this.size === 0) return value;
    return this.#walk(value) as T;
  }

  #walk(value: unknown): unknown {
    if (typeof value === "string") return this.redactText(value);
    if (Array.isArray(value)) return value.map((item) => this.#walk(item));
    if (value !== null && typeof value === "object") {
      const copy: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value))
        copy[this.redactText(key)] = this.#walk(item);
      return copy;
    }
    return value;
  }

  #regex(): RegExp {
    if (!this.#pattern) {
      // Longest first, so a secret that contains another is blanked out whole.
      const alternatives = [...this.#values]
        .sort((a, b) => b.length - a.length)
        .map((value) => value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
      this.#pattern = new RegExp(alternatives.join("|"), "g");
    }
    this.#pattern.lastIndex = 0;
    return this.#pattern;
  }
}

/** Every secret value any config load in this process has substituted; the process log redacts these. */
export const processSecrets = new SecretValues();

const byConfig = new WeakMap<object, SecretValues>();

/** Remembers which secrets went into `config`, for code that is handed only the config. */
export function rememberSecrets(config: object, secrets: SecretValues): void {
  byConfig.set(config, secrets);
}

/** The secrets substituted into `config` when it was loaded (empty if it was not loaded from text). */
export function secretsOf(config: object): SecretValues {
  return byConfig.get(config) ?? new SecretValues();
}

/**
 * The files `${file:…}` references in `config` were read from (absolute paths): a change to
 * one changes the config as surely as an edit to the config file does.
 */
export function referencedFilesOf(config: object): string[] {
  return secretsOf(config).files;
}
