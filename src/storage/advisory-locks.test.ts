import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { inProcessLocks } from "./advisory-locks.ts";
import type { Db } from "./db.ts";
import { openDb } from "./open.ts";

const url = process.env.GATEHOUSE_TEST_DATABASE_URL;
const opened: Db[] = [];
afterAll(async () => {
  await Promise.all(opened.map((db) => db.close()));
});

async function serverProcess(poolSize: number): Promise<Db> {
  const db = await openDb({ databaseUrl: url as string, poolSize });
  opened.push(db);
  return db;
}

describe("advisory locks on the embedded database", () => {
  it("holds a key once per process and frees it on release", async () => {
    const locks = inProcessLocks();
    const lease = await locks.tryLock(1, "a");
    expect(lease).not.toBeNull();
    expect(await locks.tryLock(1, "a")).toBeNull();
    expect(await locks.tryLock(2, "a")).not.toBeNull(); // another class is another lock
    await lease?.release();
    expect(await locks.tryLock(1, "a")).not.toBeNull();
  });
});

// The lock connection and its loss are PostgreSQL's: the embedded database has no second process.
describe.skipIf(!url)("advisory locks on PostgreSQL", () => {
  it("takes no pool connection: 20 locks held by a process whose pool has 2 leave its queries running", async () => {
    const db = await serverProcess(2);
    const leases = await Promise.all(Array.from({ length: 20 }, () => db.locks.tryLock(7001, randomUUID())));
    expect(leases.every((l) => l !== null)).toBe(true);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => db.withSession((s) => s.query(`select ${i} as n`))),
    );
    expect(answers.map((rows) => rows[0])).toEqual(Array.from({ length: 10 }, (_, n) => ({ n })));
    await Promise.all(leases.map((l) => l?.release()));
  });

  it("lets one process hold a key; another gets it once released, and the holder cannot take it twice", async () => {
    const [a, b] = [await serverProcess(2), await serverProcess(2)];
    const key = randomUUID();
    const lease = await a.locks.tryLock(7002, key);
    expect(lease).not.toBeNull();
    expect(await a.locks.tryLock(7002, key)).toBeNull(); // PostgreSQL's own lock is reentrant; ours is not
    expect(await b.locks.tryLock(7002, key)).toBeNull();
    await lease?.release();
    const taken = await b.locks.tryLock(7002, key);
    expect(taken).not.toBeNull();
    await taken?.release();
  });

  it("reports a lost connection through alive(), lets another process take over, and reconnects for new locks", async () => {
    const [a, b] = [await serverProcess(2), await serverProcess(2)];
    const key = randomUUID();
    const lease = await a.locks.tryLock(7003, key);
    await expect(lease?.alive()).resolves.toBeUndefined();
    // kill the holder's lock connection, as a network cut or a server restart would
    await b.withSession((s) =>
      s.query(
        `select pg_terminate_backend(l.pid) from pg_locks l
         where l.locktype = 'advisory' and l.classid = 7003 and l.objid = hashtext($1)::oid and l.granted`,
        [key],
      ),
    );
    await expect(lease?.alive()).rejects.toThrow();
    const taken = await b.locks.tryLock(7003, key);
    expect(taken).not.toBeNull();
    await lease?.release(); // harmless on a lost lock
    const other = await a.locks.tryLock(7003, randomUUID()); // a new connection
    expect(other).not.toBeNull();
    await expect(other?.alive()).resolves.toBeUndefined();
    await Promise.all([taken?.release(), other?.release()]);
  });
});
