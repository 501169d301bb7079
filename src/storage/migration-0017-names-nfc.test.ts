import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_PSK } from "../../test/support/test-app.ts";
import { buildApp } from "../app.ts";
import { hashSecret } from "../auth/secrets.ts";
import { loadConfig } from "../config/load.ts";
import { findGroupByName } from "../directory/groups.service.ts";
import { findUserByUsername } from "../directory/users.service.ts";
import type { Db } from "./db.ts";
import { migrate, readMigrations } from "./migrate.ts";
import { openDb } from "./open.ts";

// Migration 0017 (docs/input-rules.md, "Names stored before the rule"): a database written before
// names were normalised to NFC, built here with SQL under the schema of 0016, then migrated.

const url = process.env.GATEHOUSE_TEST_DATABASE_URL;
const nfd = (s: string) => s.normalize("NFD");
const CAFE = "Café";
const CREME = "Crème";

interface Fresh {
  db: Db;
  drop(): Promise<void>;
}

/** An empty database of its own: a new PostgreSQL database, or an in-memory PGlite. */
async function freshDb(): Promise<Fresh> {
  if (!url) {
    const db = await openDb({});
    return { db, drop: () => db.close() };
  }
  const name = `gh_nfc_${randomUUID().slice(0, 8)}`;
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

async function startApp(db: Db): Promise<FastifyInstance> {
  const config = loadConfig({ env: { GATEHOUSE_PSK: TEST_PSK, GATEHOUSE_LOG_LEVEL: "silent" } });
  const app = await buildApp({ config, db, generalPskHash: hashSecret(TEST_PSK) });
  await app.ready();
  return app;
}

const asAdmin = { "authorization-psk": TEST_PSK };

function query<T>(db: Db, text: string, params: unknown[] = []): Promise<T[]> {
  return db.withSession((s) => s.query<T & Record<string, unknown>>(text, params)) as Promise<T[]>;
}

async function one<T>(db: Db, text: string, params: unknown[] = []): Promise<T> {
  const [row] = await query<T>(db, text, params);
  if (!row) throw new Error(`no row: ${text}`);
  return row;
}

async function addGroup(db: Db, orgId: string, name: string, createdAt: string): Promise<string> {
  const { id } = await one<{ id: string }>(
    db,
    "insert into groups (org_id, name, created_at) values ($1, $2, $3) returning id",
    [orgId, name, createdAt],
  );
  await query(db, "insert into group_closure (ancestor_id, descendant_id, depth) values ($1, $1, 0)", [id]);
  return id;
}

async function addUser(db: Db, orgId: string, username: string, groupId?: string): Promise<string> {
  const { id } = await one<{ id: string }>(db, "insert into users (org_id, username) values ($1, $2) returning id", [
    orgId,
    username,
  ]);
  if (groupId) await query(db, "insert into group_members (group_id, user_id) values ($1, $2)", [groupId, id]);
  return id;
}

describe("migration 0017: stored names brought under the NFC rule", () => {
  let fresh: Fresh;
  let db: Db;
  let app: FastifyInstance;
  let orgId: string;
  const ids: Record<string, string> = {};
  const policyIds: Record<string, number> = {};
  let trinoVersionBefore = 0;

  async function addPolicy(key: string, table: string, item: Record<string, string[]>): Promise<void> {
    // written through the API under placeholder names, then given the stored pre-rule spelling
    const placeholders = Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.map((_, i) => `ph-${k}-${i}`)]));
    const res = await app.inject({
      method: "POST",
      url: "/v1/services/trino/policies",
      headers: asAdmin,
      payload: {
        name: `nfc-${key}`,
        resources: { catalog: { values: ["nfc"] }, schema: { values: ["s"] }, table: { values: [table] } },
        policyItems: [{ ...placeholders, accesses: [{ type: "select" }] }],
      },
    });
    expect(res.statusCode, res.body).toBe(201);
    const id = (res.json() as { id: number }).id;
    policyIds[key] = id;
    for (const [kind, names] of Object.entries(item)) {
      for (const [i, name] of names.entries()) {
        await query(
          db,
          `update policies set body = replace(body::text, $2, $3)::jsonb, ${kind} = array_replace(${kind}, $2, $3)
           where id = $1`,
          [id, `ph-${kind}-${i}`, name],
        );
      }
    }
  }

  async function allowed(user: string, table: string): Promise<boolean> {
    const res = await app.inject({
      method: "POST",
      url: "/v1/decisions",
      headers: asAdmin,
      payload: { service: "trino", user, resource: { catalog: "nfc", schema: "s", table }, accessType: "select" },
    });
    expect(res.statusCode, res.body).toBe(200);
    return (res.json() as { allowed: boolean }).allowed;
  }

  beforeAll(async () => {
    fresh = await freshDb();
    db = fresh.db;
    const before = readMigrations().filter((m) => m.version < 17);
    await migrate(db, before);
    app = await startApp(db); // creates the built-in trino service
    orgId = (await one<{ id: string }>(db, "select id from orgs where name = 'default'")).id;

    // "Café" stored decomposed; alice is its member and a policy names it decomposed.
    ids.cafe = await addGroup(db, orgId, nfd(CAFE), "2020-01-01");
    ids.alice = await addUser(db, orgId, "nfc-alice", ids.cafe);
    // "Crème" twice: decomposed (older, bob) and composed (newer, carol). A policy names the
    // decomposed spelling, which the engine matched to bob's group only.
    ids.cremeNfd = await addGroup(db, orgId, nfd(CREME), "2020-01-01");
    ids.cremeNfc = await addGroup(db, orgId, CREME, "2021-01-01");
    ids.bob = await addUser(db, orgId, "nfc-bob", ids.cremeNfd);
    ids.carol = await addUser(db, orgId, "nfc-carol", ids.cremeNfc);
    // a decomposed username and role, a name with a zero-width space
    ids.jose = await addUser(db, orgId, nfd("José"));
    ids.role = (
      await one<{ id: string }>(db, "insert into roles (org_id, name) values ($1, $2) returning id", [
        orgId,
        nfd("Rôle"),
      ])
    ).id;
    ids.invisible = await addGroup(db, orgId, "ops\u200bteam", "2020-01-01");

    await addPolicy("cafe", "t_cafe", { groups: [nfd(CAFE)], users: [nfd("José")], roles: [nfd("Rôle")] });
    await addPolicy("creme", "t_creme", { groups: [nfd(CREME)] });
    await addPolicy("ascii", "t_ascii", { users: ["nfc-carol"] });
    trinoVersionBefore = (await one<{ v: number }>(db, "select policy_version as v from services where name = 'trino'"))
      .v;

    // what the engine answered before the migration
    expect(await allowed("nfc-alice", "t_cafe")).toBe(true);
    expect(await allowed("nfc-bob", "t_creme")).toBe(true);
    expect(await allowed("nfc-carol", "t_creme")).toBe(false);
    await app.close();

    expect(await migrate(db)).toEqual([17]);
    app = await startApp(db);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await fresh?.drop();
  });

  it("rewrites names to NFC, so a lookup by the NFC spelling finds them", async () => {
    expect((await findGroupByName(db.kysely, orgId, CAFE))?.id).toBe(ids.cafe);
    expect((await findGroupByName(db.kysely, orgId, CAFE))?.name).toBe(CAFE);
    expect((await findUserByUsername(db.kysely, orgId, "José"))?.id).toBe(ids.jose);
    const role = await one<{ name: string }>(db, "select name from roles where id = $1", [ids.role]);
    expect(role.name).toBe("Rôle");
    for (const spelling of ["José", nfd("José")]) {
      const url = `/v1/users?username=${encodeURIComponent(spelling)}`;
      const res = await app.inject({ method: "GET", url, headers: asAdmin });
      expect(res.json().items.map((u: { id: string }) => u.id)).toEqual([ids.jose]);
    }
  });

  it("renames the newer spelling's loser of a collision with a visible suffix and keeps policies on it", async () => {
    // the composed row is what lookups found already: it keeps the name
    const kept = await one<{ name: string }>(db, "select name from groups where id = $1", [ids.cremeNfc]);
    expect(kept.name).toBe(CREME);
    const renamed = await one<{ name: string }>(db, "select name from groups where id = $1", [ids.cremeNfd]);
    const suffixed = `${CREME}-nfc-${ids.cremeNfd.replaceAll("-", "").slice(0, 8)}`;
    expect(renamed.name).toBe(suffixed);

    // the policy that named bob's group by its decomposed spelling names it by its new name
    const policy = await one<{ body: { policyItems: { groups: string[] }[] }; groups: string[]; version: number }>(
      db,
      "select body, groups, version from policies where id = $1",
      [policyIds.creme],
    );
    expect(policy.body.policyItems[0]?.groups).toEqual([suffixed]);
    expect(policy.groups).toEqual([suffixed]);
    expect(policy.version).toBe(2);
    expect(await allowed("nfc-bob", "t_creme")).toBe(true);
    expect(await allowed("nfc-carol", "t_creme")).toBe(false);

    const events = await query<{ target_id: string; before: unknown; after: unknown }>(
      db,
      "select target_id, before, after from audit_events where action = 'name.collision_renamed' and target_type = 'group'",
    );
    expect(events).toEqual([
      {
        target_id: ids.cremeNfd,
        before: { name: nfd(CREME) },
        after: { name: suffixed, keptBy: { id: ids.cremeNfc, name: CREME } },
      },
    ]);
  });

  it("rewrites principal names in stored policies, so decisions still follow them", async () => {
    const policy = await one<{
      body: { policyItems: { users: string[]; groups: string[]; roles: string[] }[] };
      users: string[];
      groups: string[];
      roles: string[];
    }>(db, "select body, users, groups, roles from policies where id = $1", [policyIds.cafe]);
    expect(policy.body.policyItems[0]).toMatchObject({ users: ["José"], groups: [CAFE], roles: ["Rôle"] });
    expect([policy.users, policy.groups, policy.roles]).toEqual([["José"], [CAFE], ["Rôle"]]);
    expect(await allowed("nfc-alice", "t_cafe")).toBe(true);

    // a new policy version each, recorded in the history and the audit trail; untouched policies stay
    const versions = await query<{ policy_id: number; version: number }>(
      db,
      "select policy_id, version from policy_versions where changed_by = 'system' order by policy_id",
    );
    expect(versions).toEqual([
      { policy_id: policyIds.cafe, version: 2 },
      { policy_id: policyIds.creme, version: 2 },
    ]);
    const ascii = await one<{ version: number }>(db, "select version from policies where id = $1", [policyIds.ascii]);
    expect(ascii.version).toBe(1);
    const audited = await query<{ target_id: string }>(
      db,
      "select target_id from audit_events where action = 'policy.names_normalised' order by id",
    );
    expect(audited.map((e) => Number(e.target_id))).toEqual([policyIds.cafe, policyIds.creme]);
    const trino = await one<{ v: number }>(db, "select policy_version as v from services where name = 'trino'");
    expect(trino.v).toBe(trinoVersionBefore + 1);
  });

  it("reports names with invisible characters without changing them, and a summary", async () => {
    const group = await one<{ name: string }>(db, "select name from groups where id = $1", [ids.invisible]);
    expect(group.name).toBe("ops\u200bteam");
    const events = await query<{ target_type: string; target_id: string; after: unknown }>(
      db,
      "select target_type, target_id, after from audit_events where action = 'name.invisible_characters'",
    );
    expect(events).toEqual([
      { target_type: "group", target_id: ids.invisible, after: { name: "ops\u200bteam", codePoints: ["200b"] } },
    ]);
    const summary = await one<{ after: unknown; actor_id: string }>(
      db,
      "select after, actor_id from audit_events where action = 'names.normalised'",
    );
    // normalised: Café, José, Rôle; renamed: the decomposed Crème
    expect(summary).toEqual({
      actor_id: "system",
      after: { normalised: 3, collisionRenamed: 1, policiesRewritten: 2, invisible: 1 },
    });
  });

  it("changes nothing when run again over NFC data", async () => {
    const sql = readMigrations().find((m) => m.version === 17)?.sql ?? "";
    const snapshot = () =>
      query(
        db,
        "select id, name, updated_at from groups union all select id, username, updated_at from users order by 1",
      );
    const before = await snapshot();
    const policiesBefore = await query(db, "select id, version, body from policies order by id");
    await db.withSession(async (s) => {
      await s.exec("begin");
      await s.exec(sql);
      await s.exec("commit");
    });
    expect(await snapshot()).toEqual(before);
    expect(await query(db, "select id, version, body from policies order by id")).toEqual(policiesBefore);
    const summaries = await query<{ after: unknown }>(
      db,
      "select after from audit_events where action = 'names.normalised' order by id",
    );
    expect(summaries[1]?.after).toEqual({ normalised: 0, collisionRenamed: 0, policiesRewritten: 0, invisible: 1 });
  });
});
