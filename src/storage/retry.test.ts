import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import type { Db } from "./db.ts";
import { openDb } from "./open.ts";
import { retryableSqlState, retryTransaction } from "./retry.ts";

const url = process.env.GATEHOUSE_TEST_DATABASE_URL;

describe("retryTransaction", () => {
  it("reruns on a deadlock or serialization failure, found through wrapping errors, at most `attempts` times", async () => {
    let runs = 0;
    const deadlock = Object.assign(new Error("deadlock detected"), { code: "40P01" });
    const wrapped = new Error("service failed", { cause: Object.assign(new Error("x"), { code: "40001" }) });
    const failures = [deadlock, wrapped];
    const retried: string[] = [];
    const result = await retryTransaction(
      async () => {
        runs++;
        const failure = failures.shift();
        if (failure) throw failure;
        return "done";
      },
      { onRetry: ({ sqlState }) => retried.push(sqlState) },
    );
    expect(result).toBe("done");
    expect(runs).toBe(3);
    expect(retried).toEqual(["40P01", "40001"]);

    let bounded = 0;
    await expect(
      retryTransaction(
        async () => {
          bounded++;
          throw deadlock;
        },
        { attempts: 3 },
      ),
    ).rejects.toBe(deadlock);
    expect(bounded).toBe(3);
  });

  it("does not rerun other errors (a unique violation is the caller's answer, not a conflict)", async () => {
    let runs = 0;
    const unique = Object.assign(new Error("duplicate key"), { code: "23505" });
    await expect(
      retryTransaction(async () => {
        runs++;
        throw unique;
      }),
    ).rejects.toBe(unique);
    expect(runs).toBe(1);
    expect(retryableSqlState(unique)).toBeNull();
  });
});

// Two transactions that lock two rows in opposite orders: PostgreSQL aborts one with 40P01. The
// embedded database is one connection, so transactions never overlap there and cannot deadlock.
describe.runIf(url)("db.transaction on PostgreSQL", () => {
  const table = uniqueName("retry_probe").replaceAll("-", "_");
  let db: Db;
  let unretried: Db;

  beforeAll(async () => {
    db = await openDb({ databaseUrl: url, poolSize: 4 });
    unretried = await openDb({ databaseUrl: url, poolSize: 4, transactionAttempts: 1 });
    await sql`create table ${sql.table(table)} (id int primary key, n int not null)`.execute(db.kysely);
    await sql`create table ${sql.table(`${table}_log`)} (tx text not null)`.execute(db.kysely);
    await sql`insert into ${sql.table(table)} values (1, 0), (2, 0)`.execute(db.kysely);
  });
  afterAll(async () => {
    await sql`drop table if exists ${sql.table(table)}, ${sql.table(`${table}_log`)}`.execute(db.kysely);
    await db.close();
    await unretried.close();
  });

  /** Both transactions write a log row (standing for an audit event), then lock rows in opposite orders. */
  async function opposingTransactions(on: Db): Promise<PromiseSettledResult<void>[]> {
    let firstLocks = 0;
    let bothLocked!: () => void;
    const barrier = new Promise<void>((resolve) => {
      bothLocked = resolve;
    });
    const run = (name: string, first: number, second: number) =>
      on.transaction(async (tx) => {
        await sql`insert into ${sql.table(`${table}_log`)} values (${name})`.execute(tx);
        await sql`update ${sql.table(table)} set n = n + 1 where id = ${first}`.execute(tx);
        // only the first attempts meet at the barrier; a rerun goes straight on
        if (++firstLocks === 2) bothLocked();
        if (firstLocks <= 2) await barrier;
        await sql`update ${sql.table(table)} set n = n + 1 where id = ${second}`.execute(tx);
      });
    return Promise.allSettled([run("a", 1, 2), run("b", 2, 1)]);
  }

  it("runs a deadlocked transaction again: both commit, each log row written once", async () => {
    const outcomes = await opposingTransactions(db);
    expect(outcomes.map((o) => o.status)).toEqual(["fulfilled", "fulfilled"]);
    const rows = await sql<{ id: number; n: number }>`select id, n from ${sql.table(table)} order by id`.execute(
      db.kysely,
    );
    expect(rows.rows).toEqual([
      { id: 1, n: 2 },
      { id: 2, n: 2 },
    ]);
    const log = await sql<{ tx: string }>`select tx from ${sql.table(`${table}_log`)} order by tx`.execute(db.kysely);
    expect(log.rows.map((r) => r.tx)).toEqual(["a", "b"]);
  });

  it("answers the deadlock when retries are off (the situation the retry exists for)", async () => {
    const outcomes = await opposingTransactions(unretried);
    const rejected = outcomes.filter((o) => o.status === "rejected");
    expect(rejected).toHaveLength(1);
    expect(retryableSqlState((rejected[0] as PromiseRejectedResult).reason)).toBe("40P01");
  });
});
