/**
 * @module tls/certificate-watcher
 * Tells when the listeners' certificate files changed on disk (renewed by certbot, a
 * Kubernetes secret swapped): once per burst, after the last of the files being replaced
 * together (a certificate and its key) has settled, and only when a file's content changed.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { type FileWatch, watchFile } from "../providers/file-watch.ts";

export interface CertificateWatchOptions {
  /** Quiet time after the last change of any file before `onChange` runs. */
  settle: number;
  onChange: () => void;
  onError?: (error: Error) => void;
}

/** Watches `files`; `close` stops it. */
export class CertificateWatcher {
  readonly #watches: FileWatch[] = [];
  /** Each file's content digest, as last seen (undefined: unreadable). */
  readonly #digests = new Map<string, string | undefined>();
  #timer: NodeJS.Timeout | undefined;

  constructor(files: readonly string[], options: CertificateWatchOptions) {
    for (const file of files) {
      this.#digests.set(file, digest(file));
      const watch = watchFile(file, {
        debounce: 50,
        onChange: () => {
          const now = digest(file);
          if (now === this.#digests.get(file)) return;
          this.#digests.set(file, now);
          clearTimeout(this.#timer);
          this.#timer = setTimeout(options.onChange, options.settle);
        },
        ...(options.onError && { onError: options.onError }),
      });
      this.#watches.push(watch);
    }
  }

  close(): void {
    clearTimeout(this.#timer);
    for (const watch of this.#watches) watch.close();
  }
}

function digest(file: string): string | undefined {
  try {
    return createHash("sha256").update(readFileSync(file)).digest("hex");
  } catch {
    return undefined;
  }
}
