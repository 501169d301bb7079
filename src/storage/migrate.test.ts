import { randomUUID } from "node:crypto";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { migrate, readMigrations } from "./migrate.ts";
import { openDb } from "./open.ts";

const url = process.env.GATEHOUSE_TEST_DATABASE_URL;

describe("migrations", () => {
  it("are numbered without gaps", () => {
    const versions = readMigrations().map((m) => m.version);
    expect(versions).toEqual(versions.map((_, i) => i + 1));
  });

  it("apply once on the embedded database; a restart applies nothing", async () => {
    const db = await openDb({});
    try {
      expect(await migrate(db)).toEqual(readMigrations().map((m) => m.version));
      expect(await migrate(db)).toEqual([]);
    } finally {
      await db.close();
    }
  });

  // Runs in the PostgreSQL pass of `npm test` only: advisory locks across processes need a shared server.
  it.runIf(url)("apply exactly once when two servers migrate one empty PostgreSQL at the same time", async () => {
    const name = `gh_mig_${randomUUID().slice(0, 8)}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`create database ${name}`);
    const target = new URL(url ?? "");
    target.pathname = `/${name}`;
    const [a, b] = await Promise.all([openDb({ databaseUrl: target.href }), openDb({ databaseUrl: target.href })]);
    try {
      const [appliedByA, appliedByB] = await Promise.all([migrate(a), migrate(b)]);
      const all = readMigrations().map((m) => m.version);
      expect([...appliedByA, ...appliedByB].sort((x, y) => x - y)).toEqual(all);
      const rows = await a.withSession((s) =>
        s.query<{ n: number }>("select count(*)::int as n from schema_migrations"),
      );
      expect(rows[0]?.n).toBe(all.length);
    } finally {
      await a.close();
      await b.close();
      await admin.query(`drop database ${name} with (force)`);
      await admin.end();
    }
  });
});
