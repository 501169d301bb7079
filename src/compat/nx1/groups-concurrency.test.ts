import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../../test/support/factories.ts";
import { asAdmin, TEST_PSK } from "../../../test/support/test-app.ts";
import { buildApp } from "../../app.ts";
import { hashSecret } from "../../auth/secrets.ts";
import { loadConfig } from "../../config/load.ts";
import { defaultOrgId } from "../../directory/default-org.ts";
import type { Db } from "../../storage/db.ts";
import { migrate } from "../../storage/migrate.ts";
import { openDb } from "../../storage/open.ts";

const url = process.env.GATEHOUSE_TEST_DATABASE_URL;
const GROUPS = "/api/govern/data-access/metadata/groups";
const CLIENTS = 4;
const REQUESTS = 100;
const NAMES_PER_REQUEST = 4;

// Issue #13: 4 clients creating groups 4 names at a time got `deadlock detected` from the
// directory-count trigger (migration 0005 locked one random counter shard per statement). Only
// PostgreSQL runs transactions side by side; the embedded database is one connection that hands
// transactions out one at a time, so they can neither overlap nor deadlock there.
describe.runIf(url)("concurrent group creation on PostgreSQL", () => {
  let db: Db;
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    // Retries off: the counters themselves must not deadlock; the retry in db.transaction is
    // tested on its own (storage/retry.test.ts).
    db = await openDb({ databaseUrl: url, poolSize: CLIENTS + 2, transactionAttempts: 1 });
    await migrate(db);
    const config = loadConfig({ env: { GATEHOUSE_PSK: TEST_PSK, GATEHOUSE_LOG_LEVEL: "silent" } });
    app = await buildApp({ config, db, generalPskHash: hashSecret(TEST_PSK) });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await db?.close();
  });

  it(`${CLIENTS} clients × ${REQUESTS} requests of ${NAMES_PER_REQUEST} new names: no 5xx, exact counts`, async () => {
    const prefix = uniqueName("conc");
    const statuses: number[] = [];
    const client = async (c: number) => {
      for (let r = 0; r < REQUESTS; r++) {
        const items = Array.from({ length: NAMES_PER_REQUEST }, (_, i) => `${prefix}-${c}-${r}-${i}`);
        const res = await app.inject({ method: "POST", url: GROUPS, headers: asAdmin, payload: { items } });
        statuses.push(res.statusCode);
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));

    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const orgId = await defaultOrgId(db.kysely);
    // one statement, one snapshot: the groups table and its counter shards agree exactly
    const counts = await sql<{ created: number; rows: number; counted: number }>`
      select (select count(*) from groups where name like ${`${prefix}-%`})::int as created,
             (select count(*) from groups where org_id = ${orgId}::uuid)::int as rows,
             (select coalesce(sum(n), 0) from directory_counts where org_id = ${orgId}::uuid and kind = 'group')::int as counted`.execute(
      db.kysely,
    );
    expect(counts.rows[0]).toEqual({
      created: CLIENTS * REQUESTS * NAMES_PER_REQUEST,
      rows: counts.rows[0]?.counted,
      counted: counts.rows[0]?.rows,
    });
  });
});
