import type { Db } from "../../src/storage/db.ts";
import { migrate } from "../../src/storage/migrate.ts";
import { openDb } from "../../src/storage/open.ts";
import { embeddedTemplate } from "./embedded-template.ts";

let shared: Promise<Db> | undefined;

/**
 * The database of this test file's worker: PostgreSQL when GATEHOUSE_TEST_DATABASE_URL is set
 * (the test command starts one), otherwise an in-memory PGlite. It is migrated once and shared by
 * the tests of the worker, which isolate themselves with random names instead of truncating tables.
 */
export function testDb(): Promise<Db> {
  shared ??= (async () => {
    const url = process.env.GATEHOUSE_TEST_DATABASE_URL;
    const db = await openDb(
      url ? { databaseUrl: url, poolSize: 5 } : { embeddedTemplate: await embeddedTemplate("migrated") },
    );
    await migrate(db);
    return db;
  })();
  return shared;
}

/** Which backend the suite runs on, for test names. */
export const TEST_BACKEND = process.env.GATEHOUSE_TEST_DATABASE_URL ? "postgres" : "pglite";
