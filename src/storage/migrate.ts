import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Db } from "./db.ts";

/** Folder of the numbered, forward-only SQL migrations shared by PostgreSQL and PGlite. */
export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "migrations");

/** Arbitrary constant key of the advisory lock that serialises migration runs across processes. */
const MIGRATION_LOCK_KEY = 7_242_024_001;

/** One migration file: `0001_foundation.sql` is version 1, name `foundation`. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Reads migrations/*.sql in version order; a gap or a duplicate number is a packaging error. */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const migrations = readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: readFileSync(join(dir, file), "utf8"),
    }));
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migration numbering broken at ${migration.version}_${migration.name}: expected ${index + 1}`);
    }
  });
  return migrations;
}

/**
 * Applies pending migrations, each in its own transaction, while holding a PostgreSQL advisory
 * lock, so servers starting together against one database apply each migration exactly once.
 * Returns the versions this call applied (empty when the database was current).
 */
export async function migrate(db: Db, migrations = readMigrations()): Promise<number[]> {
  return db.withSession(async (session) => {
    await session.query("select pg_advisory_lock($1)", [MIGRATION_LOCK_KEY]);
    try {
      await session.exec(
        `create table if not exists schema_migrations (
           version integer primary key,
           name text not null,
           applied_at timestamptz not null default now())`,
      );
      const rows = await session.query<{ version: number }>("select version from schema_migrations");
      const applied = new Set(rows.map((row) => Number(row.version)));
      const done: number[] = [];
      for (const migration of migrations) {
        if (applied.has(migration.version)) continue;
        await session.exec("begin");
        try {
          await session.exec(migration.sql);
          await session.query("insert into schema_migrations (version, name) values ($1, $2)", [
            migration.version,
            migration.name,
          ]);
          await session.exec("commit");
        } catch (err) {
          await session.exec("rollback");
          throw new Error(`migration ${migration.version}_${migration.name} failed: ${(err as Error).message}`, {
            cause: err,
          });
        }
        done.push(migration.version);
      }
      return done;
    } finally {
      await session.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK_KEY]);
    }
  });
}

/** True when every known migration has been applied (for /readyz). */
export async function migrationsCurrent(db: Db, migrations = readMigrations()): Promise<boolean> {
  const rows = await db
    .withSession((session) =>
      session.query<{ max: number | null }>("select max(version) as max from schema_migrations"),
    )
    .catch(() => [{ max: null }]);
  return Number(rows[0]?.max ?? 0) >= migrations.length;
}
