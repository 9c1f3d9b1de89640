/**
 * Numbered plain-SQL migration files (`src/store/migrations/<backend>/NNN_name.sql`), shared by
 * every backend: where they are (beside the sources, in `dist/` after the build's copy, or in the
 * package's `src/`) and reading them in order.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** The migrations folder of `backend` (`sqlite`, `postgres`). */
export function migrationsDir(backend: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'migrations', backend)];
  for (let dir = here, i = 0; i < 6; i++, dir = dirname(dir)) {
    candidates.push(join(dir, 'src', 'store', 'migrations', backend));
  }
  const found = candidates.find((c) => existsSync(c));
  if (!found) throw new Error(`${backend} migrations not found (looked in ${candidates[0]})`);
  return found;
}

/** The migrations in `dir`, by number; two files with one number are an error. */
export function loadMigrationFiles(dir: string): Migration[] {
  const out: Migration[] = [];
  for (const file of readdirSync(dir).sort()) {
    const m = /^(\d+)_([\w-]+)\.sql$/.exec(file);
    if (!m) continue;
    out.push({ version: Number(m[1]), name: m[2], sql: readFileSync(join(dir, file), 'utf8') });
  }
  for (let i = 1; i < out.length; i++) {
    if (out[i].version === out[i - 1].version) throw new Error(`two migrations numbered ${out[i].version}`);
  }
  return out;
}
