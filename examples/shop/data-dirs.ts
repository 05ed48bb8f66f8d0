/**
 * @module examples/shop/data-dirs
 * The embedded host's PGlite directories, one per service. A new PGlite directory costs an
 * `initdb` (seconds of CPU); five of them made the first start slow. So the first start
 * makes one empty database (`.template`) and copies it for each service that has no
 * directory yet: one `initdb` instead of five. Each service then creates its own tables.
 */
import { cp, mkdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";

const exists = (path: string) =>
  stat(path).then(
    () => true,
    () => false,
  );

/** Makes `root/<name>` for each name that has none, from one fresh database. */
export async function prepareDataDirs(root: string, names: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const name of names) if (!(await exists(join(root, name)))) missing.push(name);
  if (missing.length === 0) return;
  const template = join(root, ".template");
  if (!(await exists(join(template, "PG_VERSION")))) {
    await mkdir(root, { recursive: true });
    const db = await PGlite.create({ dataDir: template });
    await db.close();
  }
  for (const name of missing) await cp(template, join(root, name), { recursive: true });
}
