import { randomUUID } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FreshDb, freshDb } from "../../test/support/fresh-db.ts";
import { TEST_PSK } from "../../test/support/test-app.ts";
import { buildApp } from "../app.ts";
import { hashSecret } from "../auth/secrets.ts";
import { loadConfig } from "../config/load.ts";
import { findGroupByName } from "../directory/groups.service.ts";
import { findUserByUsername } from "../directory/users.service.ts";
import { normalizePolicy } from "../policies/policy-model.ts";
import { ensureBuiltins } from "../service-defs/service-defs.service.ts";
import type { Db } from "./db.ts";
import { migrate, readMigrations } from "./migrate.ts";
import { namesMigrationMessage, namesMigrationReport } from "./names-migration-report.ts";

// Migration 0017 (docs/input-rules.md, "Names stored before the rule"): a database written before
// names were normalised to NFC, built here with SQL under the schema of 0016, then migrated.

const nfd = (s: string) => s.normalize("NFD");
const CAFE = "Café";
const CREME = "Crème";

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
  let fresh: FreshDb;
  let db: Db;
  let app: FastifyInstance;
  let orgId: string;
  const ids: Record<string, string> = {};
  const policyIds: Record<string, number> = {};
  let trinoVersionBefore = 0;

  /** A policy as an older version stored it: item names in the spelling the client sent. */
  async function addPolicy(key: string, table: string, item: Record<string, string[]>): Promise<void> {
    const body = normalizePolicy({
      name: `nfc-${key}`,
      resources: { catalog: { values: ["nfc"] }, schema: { values: ["s"] }, table: { values: [table] } },
      policyItems: [{ accesses: [{ type: "select" }] }],
    });
    const stored = { users: item.users ?? [], groups: item.groups ?? [], roles: item.roles ?? [] };
    Object.assign(body.policyItems?.[0] ?? {}, stored);
    const { id } = await one<{ id: number }>(
      db,
      `insert into policies (service_id, name, resource_signature, body, users, groups, roles)
       values ((select id from services where name = 'trino'), $1, $2, $3, $4, $5, $6) returning id`,
      [body.name, randomUUID(), JSON.stringify(body), stored.users, stored.groups, stored.roles],
    );
    policyIds[key] = id;
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
    fresh = await freshDb("gh_nfc");
    db = fresh.db;
    const before = readMigrations().filter((m) => m.version < 17);
    await migrate(db, before);
    await ensureBuiltins(db, "trino"); // the built-in trino service, as a server start creates it
    orgId = (await one<{ id: string }>(db, "select id from orgs where name = 'default'")).id;

    // "Café" stored decomposed; alice is its member and a policy names it decomposed.
    ids.cafe = await addGroup(db, orgId, nfd(CAFE), "2020-01-01");
    ids.alice = await addUser(db, orgId, "nfc-alice", ids.cafe);
    ids.lea = await addUser(db, orgId, nfd("Léa"), ids.cafe);
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
    // two spellings of which neither is NFC: the older keeps the name
    ids.dotOld = await addGroup(db, orgId, "xe\u0301\u0323", "2019-01-01");
    ids.dotNew = await addGroup(db, orgId, "xe\u0323\u0301", "2022-01-01");
    // users "Zoë" decomposed (older) and "zoë" composed (newer): the composed one keeps the name
    ids.zoeNfd = await addUser(db, orgId, nfd("Zoë"));
    ids.zoeNfc = await addUser(db, orgId, "zoë");

    await addPolicy("cafe", "t_cafe", { groups: [nfd(CAFE)], users: [nfd("José")], roles: [nfd("Rôle")] });
    await addPolicy("creme", "t_creme", { groups: [nfd(CREME)], users: [nfd("Zoë")] });
    await addPolicy("ascii", "t_ascii", { users: ["nfc-carol"] });
    await addPolicy("named", "t_named", { users: ["nfc-carol"] });
    await query(
      db,
      "update policies set name = $2, body = jsonb_set(body, '{name}', to_jsonb($2::text)) where id = $1",
      [policyIds.named, nfd("Politique é")],
    );
    // the other named kinds, and a zone's administrators
    ids.org = (await one<{ id: string }>(db, "insert into orgs (name) values ($1) returning id", [nfd("orgé")])).id;
    ids.service = String(
      (
        await one<{ id: number }>(db, "insert into services (name, type) values ($1, 'trino') returning id", [
          nfd("svcé"),
        ])
      ).id,
    );
    ids.zone = String(
      (
        await one<{ id: number }>(
          db,
          "insert into security_zones (name, admin_users, audit_user_groups) values ($1, $2, $3) returning id",
          [nfd("zoné"), [nfd("José")], [nfd(CREME)]],
        )
      ).id,
    );
    trinoVersionBefore = (await one<{ v: number }>(db, "select policy_version as v from services where name = 'trino'"))
      .v;

    const applied = await migrate(db);
    expect(applied[0]).toBe(17); // and any later migrations after it

    app = await startApp(db);
  }, 120_000);

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
    expect(await one(db, "select name from orgs where id = $1", [ids.org])).toEqual({ name: "orgé" });
    expect(await one(db, "select name from services where id = $1", [ids.service])).toEqual({ name: "svcé" });
    const named = await one<{ name: string; body: { name: string }; version: number }>(
      db,
      "select name, body, version from policies where id = $1",
      [policyIds.named],
    );
    expect([named.name, named.body.name, named.version]).toEqual(["Politique é", "Politique é", 2]);
    // a zone's lists name principals as policies do: the renamed decomposed Crème follows its group
    const suffixed = `${CREME}-nfc-${ids.cremeNfd.replaceAll("-", "").slice(0, 8)}`;
    expect(
      await one(db, "select name, admin_users, audit_user_groups from security_zones where id = $1", [ids.zone]),
    ).toEqual({ name: "zoné", admin_users: ["José"], audit_user_groups: [suffixed] });
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
    const policy = await one<{
      body: { policyItems: { groups: string[]; users: string[] }[] };
      groups: string[];
      version: number;
    }>(db, "select body, groups, version from policies where id = $1", [policyIds.creme]);
    const zoe = `Zoë-nfc-${ids.zoeNfd.replaceAll("-", "").slice(0, 8)}`;
    expect(policy.body.policyItems[0]).toMatchObject({ groups: [suffixed], users: [zoe] });
    expect(policy.groups).toEqual([suffixed]);
    expect(await one(db, "select username from users where id = $1", [ids.zoeNfd])).toEqual({ username: zoe });
    expect(await one(db, "select username from users where id = $1", [ids.zoeNfc])).toEqual({ username: "zoë" });
    expect(policy.version).toBe(2);
    expect(await allowed("nfc-bob", "t_creme")).toBe(true);
    expect(await allowed("nfc-carol", "t_creme")).toBe(false);

    const events = await query<{ target_id: string; before: unknown; after: unknown }>(
      db,
      "select target_id, before, after from audit_events where action = 'name.collision_renamed' and target_type = 'group'",
    );
    expect(events).toContainEqual({
      target_id: ids.cremeNfd,
      before: { name: nfd(CREME) },
      after: { name: suffixed, keptBy: { id: ids.cremeNfc, name: CREME } },
    });
    expect(events).toHaveLength(2);
  });

  it("keeps the name on the oldest row when no spelling of a collision is NFC", async () => {
    const nfc = "x\u1eb9\u0301";
    expect(await one(db, "select name from groups where id = $1", [ids.dotOld])).toEqual({ name: nfc });
    const renamed = `${nfc}-nfc-${ids.dotNew.replaceAll("-", "").slice(0, 8)}`;
    expect(await one(db, "select name from groups where id = $1", [ids.dotNew])).toEqual({ name: renamed });
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
    // the user stored decomposed is found by the composed spelling and matches the rewritten item
    expect(await allowed("José", "t_cafe")).toBe(true);
    // a decision request may still spell a user decomposed: the user is found, its groups follow
    expect(await allowed(nfd("Léa"), "t_cafe")).toBe(true);

    // a new policy version each, recorded in the history and the audit trail; untouched policies stay
    const versions = await query<{ policy_id: number; version: number }>(
      db,
      "select policy_id, version from policy_versions where changed_by = 'system' order by policy_id",
    );
    expect(versions).toEqual([
      { policy_id: policyIds.cafe, version: 2 },
      { policy_id: policyIds.creme, version: 2 },
      { policy_id: policyIds.named, version: 2 },
    ]);
    const ascii = await one<{ version: number }>(db, "select version from policies where id = $1", [policyIds.ascii]);
    expect(ascii.version).toBe(1);
    const audited = await query<{ target_id: string }>(
      db,
      "select target_id from audit_events where action = 'policy.names_normalised' order by id",
    );
    expect(audited.map((e) => Number(e.target_id))).toEqual([policyIds.cafe, policyIds.creme, policyIds.named]);
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
    // normalised: Café, José, Léa, Rôle, the older x, the org, service, zone and policy name;
    // renamed: the decomposed Crème and Zoë, the newer x
    const counts = { normalised: 9, collisionRenamed: 3, policiesRewritten: 3, invisible: 1 };
    expect(summary).toEqual({ actor_id: "system", after: counts });
    // what the server and `gatehouse migrate` log once the migration ran
    const report = await namesMigrationReport(db);
    expect(report).toEqual(counts);
    expect(report && namesMigrationMessage(report).level).toBe("warn");
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
