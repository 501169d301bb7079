import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildUser, uniqueName } from "../../test/support/factories.ts";
import { type FreshDb, freshDb } from "../../test/support/fresh-db.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import type { Tx } from "../storage/db.ts";
import { migrate } from "../storage/migrate.ts";
import { watchDirectoryChanges } from "./directory-changes.ts";

// A database of the test's own: on the suite's shared database other test files write the
// directory at any time, and "nothing changed" could not be asserted.
let fresh: FreshDb;
beforeAll(async () => {
  fresh = await freshDb("gh_dirchg");
  await migrate(fresh.db);
}, 60_000);
afterAll(async () => {
  await fresh.drop();
});

/** A watcher polling every 10 ms, and a way to wait for its next reported change. */
function watch(options: { keepMs?: number } = {}) {
  let changes = 0;
  const watcher = watchDirectoryChanges(fresh.db.kysely, () => changes++, { pollMs: 10, ...options });
  return {
    watcher,
    get changes() {
      return changes;
    },
    /** Resolves once `changes` exceeds `after`; fails after 2 s. */
    async changeAfter(after: number) {
      const started = Date.now();
      while (changes <= after) {
        if (Date.now() - started > 2_000) throw new Error(`no change reported after ${after}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
  };
}

const quiet = () => new Promise((r) => setTimeout(r, 100));

describe(`directory change log (${TEST_BACKEND})`, () => {
  it("reports a committed directory write once, and nothing while the directory is quiet", async () => {
    const w = watch();
    await w.changeAfter(0); // the first poll reports a change: the cache starts from nothing known
    await quiet();
    const settled = w.changes;
    await quiet();
    expect(w.changes).toBe(settled);
    await buildUser(fresh.db);
    await w.changeAfter(settled);
    await quiet();
    const after = w.changes;
    await quiet();
    expect(w.changes).toBe(after);
    await w.watcher.stop();
  });

  it("prunes rows every poller has seen", async () => {
    await buildUser(fresh.db);
    const rows = async () =>
      Number(
        (await sql<{ n: string }>`select count(*) as n from directory_changes`.execute(fresh.db.kysely)).rows[0]?.n,
      );
    expect(await rows()).toBeGreaterThan(0);
    const w = watch({ keepMs: 30 });
    const started = Date.now();
    while ((await rows()) > 0) {
      expect(Date.now() - started).toBeLessThan(2_000);
      await new Promise((r) => setTimeout(r, 10));
    }
    await w.watcher.stop();
  });

  // PGlite has one connection: a transaction cannot stay open beside another's commit.
  it.runIf(TEST_BACKEND === "postgres")(
    "sees a transaction that commits after a younger one it was in progress beside",
    async () => {
      const w = watch();
      await w.changeAfter(0);
      await quiet();
      let release: () => void = () => {};
      const held = new Promise<void>((r) => {
        release = r;
      });
      let opened: () => void = () => {};
      const isOpen = new Promise<void>((r) => {
        opened = r;
      });
      const older = fresh.db.kysely.transaction().execute(async (tx) => {
        await buildUserIn(tx, uniqueName("older"));
        opened();
        await held;
      });
      await isOpen;
      const before = w.changes;
      await buildUser(fresh.db); // the younger transaction commits first
      await w.changeAfter(before);
      await quiet();
      const afterYounger = w.changes;
      release();
      await older;
      await w.changeAfter(afterYounger);
      await w.watcher.stop();
    },
  );
});

/** A user inserted inside `tx`, in the default organisation. */
async function buildUserIn(tx: Tx, username: string): Promise<void> {
  const org = await tx.selectFrom("orgs").where("name", "=", "default").select("id").executeTakeFirstOrThrow();
  await tx
    .insertInto("users")
    .values({ org_id: org.id, username, email: null, display_name: null, external_id: null })
    .execute();
}
