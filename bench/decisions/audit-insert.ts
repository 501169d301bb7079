// `node bench/decisions/audit-insert.ts [--rows N] [--batches N] [--rounds N]`
//
// What writing the decision log costs per row, on both sides of the connection: CPU of this
// process (row building, query compilation, the driver) and of the PostgreSQL backend serving it
// (/proc of `pg_backend_pid()`, so the database must run on this machine: a throwaway one is
// started unless GATEHOUSE_BENCH_DATABASE_URL is set). Compares the writer's insert
// (`insertDecisions`: one array per column, unnested) with the multi-row VALUES list it replaced.
import { parseArgs } from "node:util";
import { sql } from "kysely";
import { insertDecisions, type QueuedDecision } from "../../src/decisions/decision-audit.ts";
import type { Queryable } from "../../src/storage/db.ts";
import { migrate } from "../../src/storage/migrate.ts";
import { openDb } from "../../src/storage/open.ts";
import { cpuSecondsOf } from "./cpu.ts";
import { startPostgres } from "./processes.ts";

const { values: flags } = parseArgs({
  options: {
    rows: { type: "string", default: "1000" },
    batches: { type: "string", default: "50" },
    rounds: { type: "string", default: "3" },
  },
});

/** The multi-row VALUES insert the writer used before (one parameter per column and row). */
async function valuesInsert(db: Queryable, batch: readonly QueuedDecision[]): Promise<void> {
  await db
    .insertInto("decision_log")
    .values(
      batch.map((e) => ({
        occurred_at: e.at,
        service: e.service,
        user_name: e.user,
        groups: e.groups,
        roles: e.roles,
        access_type: e.accessType,
        action: e.action,
        resource: e.resource,
        policy_type: e.policyType,
        allowed: e.allowed,
        determined: e.determined,
        policy_id: e.policyId,
        policy_version: e.policyVersion,
        reason: e.reason,
        request_id: e.requestId,
        client_ip: e.clientIp,
      })),
    )
    .execute();
}

let stopPg: (() => void) | undefined;
let databaseUrl = process.env.GATEHOUSE_BENCH_DATABASE_URL;
if (!databaseUrl) {
  const pg = await startPostgres();
  databaseUrl = pg.url;
  stopPg = pg.stop;
}
const db = await openDb({ databaseUrl, poolSize: 1 });
try {
  await migrate(db);
  const backend = (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db.kysely)).rows[0]?.pid ?? 0;
  const service = `bench-audit-${Date.now().toString(36)}`;
  const rows: QueuedDecision[] = Array.from({ length: Number(flags.rows) }, (_, i) => ({
    service,
    user: `alice-${i % 50}`,
    groups: ["analysts", "eu-sales"],
    roles: ["reader"],
    accessType: "select",
    action: null,
    resource: `catalog=sales/schema=s${i % 1000}/table=orders`,
    policyType: 0,
    allowed: true,
    determined: true,
    policyId: 1000 + (i % 1000),
    policyVersion: 1,
    reason: "matched allow item",
    at: new Date(),
    requestId: "0d5e8c5e-6b1e-4d43-9a3e-2f1f0c7a9b11",
    clientIp: "127.0.0.1",
  }));
  const batches = Number(flags.batches);
  const ways = [
    ["unnest (writer)", insertDecisions],
    ["values list", valuesInsert],
  ] as const;
  process.stdout.write(`rows per insert ${rows.length}; ${batches} inserts per figure; CPU µs per row\n`);
  for (let round = 0; round < Number(flags.rounds); round++) {
    for (const [name, insert] of ways) {
      for (let i = 0; i < 5; i++) await insert(db.kysely, rows);
      const node = process.cpuUsage();
      const pg = cpuSecondsOf(backend);
      for (let i = 0; i < batches; i++) await insert(db.kysely, rows);
      const nodeUs = process.cpuUsage(node);
      const pgUs = (cpuSecondsOf(backend) - pg) * 1e6;
      const per = (us: number) => (us / (batches * rows.length)).toFixed(2).padStart(6);
      process.stdout.write(`${name.padEnd(16)} node ${per(nodeUs.user + nodeUs.system)}  postgres ${per(pgUs)}\n`);
    }
  }
  await sql`delete from decision_log where service = ${service}`.execute(db.kysely);
} finally {
  await db.close();
  stopPg?.();
}
