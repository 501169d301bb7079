import { randomUUID } from "node:crypto";
import pg from "pg";
import type { Db } from "../../src/storage/db.ts";
import { openDb } from "../../src/storage/open.ts";
import { embeddedTemplate } from "./embedded-template.ts";

/** An empty database of a test's own, and how to remove it. */
export interface FreshDb {
  db: Db;
  drop(): Promise<void>;
}

/**
 * A new, unmigrated database: a PostgreSQL database of its own on the suite's server when
 * GATEHOUSE_TEST_DATABASE_URL is set, else an in-memory PGlite. For tests that change rows every
 * other test file relies on (built-in service-defs, a schema before a migration), which must not
 * do so in the worker's shared database, and for benchmarks (pass their database URL).
 */
export async function freshDb(prefix = "gh_fresh", url = process.env.GATEHOUSE_TEST_DATABASE_URL): Promise<FreshDb> {
  if (!url) {
    const db = await openDb({ embeddedTemplate: await embeddedTemplate("empty") });
    return { db, drop: () => db.close() };
  }
  const name = `${prefix}_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database ${name}`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  const db = await openDb({ databaseUrl: target.href, poolSize: 3 });
  return {
    db,
    drop: async () => {
      await db.close();
      await admin.query(`drop database ${name} with (force)`);
      await admin.end();
    },
  };
}
