import { describe, expect, it } from "vitest";
import { freshDb } from "../../test/support/fresh-db.ts";
import { TEST_BACKEND, testDb } from "../../test/support/test-db.ts";
import { migrate } from "../storage/migrate.ts";
import { ensureBuiltins } from "./service-defs.service.ts";

describe(`built-in service-defs at start (${TEST_BACKEND})`, () => {
  it("a second start leaves unchanged definitions untouched, so running processes keep their engines", async () => {
    const db = await testDb();
    const stamps = () =>
      db.kysely
        .selectFrom("service_defs")
        .select(["name", "updated_at"])
        .where("builtin", "=", true)
        .orderBy("name")
        .execute();
    await ensureBuiltins(db, "nx1");
    const before = await stamps();
    expect(before.map((d) => d.name)).toEqual(expect.arrayContaining(["hive", "tag", "trino"]));
    await ensureBuiltins(db, "nx1");
    expect(await stamps()).toEqual(before);
  });

  it("a start rewrites a built-in definition that differs from the shipped one, and moves its updated_at", async () => {
    // a database of its own: every other test file relies on the shared database's hdfs definition
    const fresh = await freshDb("gh_defs");
    try {
      const db = fresh.db;
      await migrate(db);
      await ensureBuiltins(db, "nx1");
      await db.kysely
        .updateTable("service_defs")
        .set({ def: JSON.stringify({ name: "hdfs", description: "edited by hand" }), updated_at: new Date(0) })
        .where("name", "=", "hdfs")
        .execute();
      await ensureBuiltins(db, "nx1");
      const row = await db.kysely
        .selectFrom("service_defs")
        .select(["def", "updated_at"])
        .where("name", "=", "hdfs")
        .executeTakeFirstOrThrow();
      expect((row.def as { description?: string }).description).not.toBe("edited by hand");
      expect(row.updated_at.getTime()).toBeGreaterThan(0);
    } finally {
      await fresh.drop();
    }
  });
});
