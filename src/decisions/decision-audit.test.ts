import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_BACKEND, testDb } from "../../test/support/test-db.ts";
import type { Db } from "../storage/db.ts";
import { DecisionAuditWriter, type QueuedDecision, queuedDecisionOf } from "./decision-audit.ts";
import { resourcePrefix } from "./decision-log.routes.ts";

let db: Db;

beforeAll(async () => {
  db = await testDb();
});
afterAll(async () => {
  await db.close();
});

/** Names that an array literal must carry through unchanged: quotes, backslashes, braces, commas. */
const AWKWARD = ['say "hi"', "back\\slash", "{braces}", "a,b", "NULL", "", " spaced ", "ünïcødé", '\\"'];

function entryOf(service: string, i: number): QueuedDecision {
  return {
    service,
    user: `user-${i}`,
    groups: i % 3 === 0 ? [] : [`g${i}`, AWKWARD[i % AWKWARD.length] as string],
    roles: i % 4 === 0 ? [AWKWARD[(i + 1) % AWKWARD.length] as string] : [],
    accessType: i % 2 === 0 ? "select" : "",
    action: i % 5 === 0 ? null : `action "${i}"`,
    resource: `catalog=c/schema=s${i}`,
    policyType: i % 3,
    allowed: i % 2 === 0,
    determined: i % 7 !== 0,
    policyId: i % 6 === 0 ? null : i,
    policyVersion: i % 6 === 0 ? null : i + 1,
    reason: `reason ${i} 'quoted' \\ "double"`,
    at: new Date(Date.UTC(2026, 0, 1) + i * 1_001),
    requestId: i % 8 === 0 ? null : `req-${i}`,
    clientIp: i % 9 === 0 ? null : `10.0.${i % 256}.1`,
  };
}

describe(`decision audit writer (${TEST_BACKEND})`, () => {
  it("writes every queued decision, field for field, across several inserts", async () => {
    const service = `audit-${Date.now().toString(36)}`;
    let lost = 0;
    const writer = new DecisionAuditWriter(db.kysely, {
      batchSize: 1_000,
      flushIntervalMs: 60_000,
      onDropped: (n) => (lost += n),
      onFailed: (n) => (lost += n),
    });
    const entries = Array.from({ length: 2_503 }, (_, i) => entryOf(service, i));
    for (const e of entries) expect(writer.push(e)).toBe(true);
    expect(writer.depth).toBe(2_503);
    await writer.stop();
    expect(lost).toBe(0);
    expect(writer.depth).toBe(0);

    const rows = await db.kysely
      .selectFrom("decision_log")
      .selectAll()
      .where("service", "=", service)
      .orderBy("id")
      .execute();
    expect(rows).toHaveLength(entries.length);
    const stored = rows.map(queuedDecisionOf);
    // Rows keep the queue's order (one statement per batch, in order), so they compare one to one.
    expect(stored).toEqual(entries);
  });

  it("counts a failed insert as lost and goes on with the next batch", async () => {
    const service = `audit-fail-${Date.now().toString(36)}`;
    let failed = 0;
    const writer = new DecisionAuditWriter(db.kysely, {
      batchSize: 2,
      flushIntervalMs: 60_000,
      onFailed: (n) => (failed += n),
    });
    // policy_type is a smallint: 70,000 makes the first statement fail, and only that one.
    writer.push({ ...entryOf(service, 1), policyType: 70_000 });
    writer.push(entryOf(service, 2));
    writer.push(entryOf(service, 3));
    await writer.stop();
    expect(failed).toBe(2);
    const rows = await db.kysely
      .selectFrom("decision_log")
      .select("user_name")
      .where("service", "=", service)
      .execute();
    expect(rows.map((r) => r.user_name)).toEqual(["user-3"]);
  });

  it("audits a decision on a 4,000-character resource and the rest of its batch (migration 0012)", async () => {
    const service = `audit-long-${Date.now().toString(36)}`;
    let lost = 0;
    const writer = new DecisionAuditWriter(db.kysely, {
      batchSize: 1_000,
      flushIntervalMs: 60_000,
      onFailed: (n) => (lost += n),
    });
    // Random CJK characters (3 bytes each in UTF-8) do not compress: about 12,000 bytes, far over
    // the 2,704 bytes a btree entry may take, which the old full-text index refused.
    const random = Array.from({ length: 4_000 - 17 }, () =>
      String.fromCodePoint(0x4e00 + Math.floor(Math.random() * 20_000)),
    ).join("");
    const long = `catalog=c/schema=${random}`;
    expect([...long]).toHaveLength(4_000);
    const entries = Array.from({ length: 1_000 }, (_, i) => entryOf(service, i));
    entries[500] = { ...(entries[500] as QueuedDecision), resource: long };
    for (const e of entries) writer.push(e);
    await writer.stop();
    expect(lost).toBe(0);
    const rows = await db.kysely
      .selectFrom("decision_log")
      .selectAll()
      .where("service", "=", service)
      .orderBy("id")
      .execute();
    expect(rows.map(queuedDecisionOf)).toEqual(entries);

    // the log's prefix search finds it, by a prefix longer than the indexed 512 characters too
    const found = await db.kysely
      .selectFrom("decision_log")
      .select("resource")
      .where("service", "=", service)
      .where(resourcePrefix(long.slice(0, 3_000)))
      .execute();
    expect(found.map((r) => r.resource)).toEqual([long]);
  });

  it("answers the log's resource prefix search from the index", async () => {
    const plan = await db.kysely.transaction().execute(async (tx) => {
      await sql`set local enable_seqscan = off`.execute(tx);
      return sql<
        Record<string, string>
      >`explain select id from decision_log where ${resourcePrefix("catalog=c/")}`.execute(tx);
    });
    const text = plan.rows.map((r) => Object.values(r).join(" ")).join("\n");
    expect(text).toContain("decision_log_resource_prefix");
  });
});
