import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drained as drainedIn, ok as okAs } from "../../test/support/connectors.ts";
import { uniqueName } from "../../test/support/factories.ts";
import { type RangerTargetServer, startRangerTarget } from "../../test/support/ranger-target.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";

// The connector framework against a real Ranger user API: a second Gatehouse server process
// (test/support/ranger-target.ts) on real HTTP. One target and one app for the whole file.

let t: TestApp;
let ranger: RangerTargetServer;
beforeAll(async () => {
  [t, ranger] = await Promise.all([
    testApp({
      GATEHOUSE_CONNECTOR_RETRY_MAX_MS: "300",
      GATEHOUSE_CONNECTOR_WAIT_MS: "3000",
      GATEHOUSE_CONNECTOR_RECONCILE_SECONDS: "0",
      // no dead letters while the target restarts (the dead-letter test sets its own limit)
      GATEHOUSE_CONNECTOR_MAX_ATTEMPTS: "1000",
    }),
    startRangerTarget(),
  ]);
}, 600_000); // a server process starts in seconds on an idle machine, in minutes on a loaded one
const created: string[] = [];
afterAll(async () => {
  // the test database is shared: leave no connector behind for other files' apps to lead
  for (const id of created) await t?.request({ method: "DELETE", url: `/v1/connectors/${id}` });
  await t?.app.close();
  await ranger?.destroy();
});

const ok = (method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE", url: string, payload?: unknown) =>
  okAs(t, method, url, payload);

/** A fresh organisation with a Ranger connector over it. */
async function setup(selection?: unknown, orgId?: string) {
  const org = orgId ?? (await ok("POST", "/v1/orgs", { name: uniqueName("org") })).id;
  const connector = await ok("POST", "/v1/connectors", {
    name: uniqueName("ranger"),
    kind: "ranger",
    orgIds: [org],
    // per connector, so whichever process leads it (any app on a shared test database) retries alike;
    // no dead letters while the target restarts (the dead-letter test sets its own limit)
    config: {
      baseUrl: ranger.url,
      username: ranger.username,
      maxAttempts: 1000,
      retryMaxMs: 300,
      ...(selection ? { selection } : {}),
    },
    password: ranger.password,
  });
  created.push(connector.id);
  return { org: org as string, connector: connector.id as string, name: connector.name as string };
}

const drained = (connector: string, timeoutMs?: number) => drainedIn(t, connector, timeoutMs);

async function user(org: string, username: string) {
  return (await ok("POST", "/v1/users", { orgId: org, username })).id as string;
}

describe("connectors: configuration", () => {
  it("creates, reads without the secret, updates, disables, tests and deletes, each audited", async () => {
    const { connector } = await setup();
    const got = await ok("GET", `/v1/connectors/${connector}`);
    expect(got).toMatchObject({
      kind: "ranger",
      enabled: true,
      secretSet: true,
      config: { username: ranger.username },
    });
    expect(JSON.stringify(got)).not.toContain(ranger.password);
    expect((await ok("POST", `/v1/connectors/${connector}/test`)).ok).toBe(true);
    expect((await ok("POST", `/v1/connectors/${connector}/disable`)).enabled).toBe(false);
    expect((await ok("POST", `/v1/connectors/${connector}/enable`)).enabled).toBe(true);
    const renamed = await ok("PATCH", `/v1/connectors/${connector}`, { password: "wrong-password-123" });
    expect(renamed.secretSet).toBe(true);
    const refused = await ok("POST", `/v1/connectors/${connector}/test`);
    expect(refused.ok).toBe(false);
    expect(refused.detail).toMatch(/^401 /);
    await ok("DELETE", `/v1/connectors/${connector}`);
    expect((await t.request({ method: "GET", url: `/v1/connectors/${connector}` })).statusCode).toBe(404);
    const audit = await ok("GET", `/v1/audit/events?targetId=${connector}&limit=20`);
    const actions = audit.items.map((e: { action: string }) => e.action);
    for (const a of [
      "connector.created",
      "connector.disabled",
      "connector.enabled",
      "connector.updated",
      "connector.deleted",
    ]) {
      expect(actions).toContain(a);
    }
    expect(JSON.stringify(audit.items)).not.toContain("wrong-password-123");
  });

  it("refuses bad input naming the field", async () => {
    const noPassword = await t.request({
      method: "POST",
      url: "/v1/connectors",
      payload: { name: uniqueName("c"), kind: "ranger", config: { baseUrl: ranger.url, username: "x" } },
    });
    expect(noPassword.statusCode).toBe(400);
    expect(noPassword.json().details[0].field).toBe("body.password");
    const badUrl = await t.request({
      method: "POST",
      url: "/v1/connectors",
      payload: { name: uniqueName("c"), kind: "ranger", config: { baseUrl: "ftp://x", username: "x" }, password: "p" },
    });
    expect(badUrl.statusCode).toBe(400);
    expect(badUrl.body).toContain("baseUrl");
  });
});

describe("connectors: delivery to Ranger", () => {
  it("carries groups, effective members, renames and deletions as usersync would, and reconciles drift", async () => {
    const { org, connector, name } = await setup();
    const tag = uniqueName("g").slice(2, 10);
    const parent = await ok("POST", "/v1/groups", { orgId: org, name: `p-${tag}` });
    const child = await ok("POST", "/v1/groups", { orgId: org, name: `c-${tag}`, parentId: parent.id });
    const alice = await user(org, `alice-${tag}`);
    const bob = await user(org, `bob-${tag}`);
    await ok("PUT", `/v1/groups/${parent.id}/members/${alice}`, { role: "member" });
    await ok("PUT", `/v1/groups/${child.id}/members/${bob}`, { role: "member" });
    await drained(connector);
    let members = await ranger.groupUsers();
    expect(members[`p-${tag}`]).toEqual([`alice-${tag}`, `bob-${tag}`]); // flat: effective members
    expect(members[`c-${tag}`]).toEqual([`bob-${tag}`]);

    // a rename leaves the old name (hidden, emptied); a removal and a deletion follow
    await ok("PATCH", `/v1/groups/${child.id}`, { name: `c2-${tag}` });
    await ok("DELETE", `/v1/groups/${parent.id}/members/${alice}`);
    await drained(connector);
    members = await ranger.groupUsers();
    expect(members[`c-${tag}`]).toBeUndefined();
    expect(members[`c2-${tag}`]).toEqual([`bob-${tag}`]);
    expect(members[`p-${tag}`]).toEqual([`bob-${tag}`]);
    const status = await ok("GET", `/v1/connectors/${connector}/status`);
    expect(status).toMatchObject({ pending: 0, failing: 0, deadLettered: 0, lagSeconds: 0 });
    expect(status.lastSuccessAt).not.toBeNull();

    // drift made by hand on Ranger: a member added, a Gatehouse group hidden
    await ranger.call("POST", "/service/xusers/ugsync/groupusers", [
      { groupName: `c2-${tag}`, addUsers: [`alice-${tag}`] },
    ]);
    await ranger.call("POST", "/service/xusers/ugsync/groups/visibility", [`p-${tag}`]);
    const dry = await ok("POST", `/v1/connectors/${connector}/reconcile?dryRun=true`);
    expect(dry.counts).toMatchObject({ missing: 1, members: 1, extra: 0 });
    expect(dry.differences).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: "missing", groupId: parent.id }),
        expect.objectContaining({
          kind: "members",
          groupId: child.id,
          detail: { lacking: [], surplus: [`alice-${tag}`] },
        }),
      ]),
    );
    expect((await ranger.groupUsers())[`c2-${tag}`]).toContain(`alice-${tag}`); // dry run changed nothing
    const repair = await ok("POST", `/v1/connectors/${connector}/reconcile`);
    expect(repair.repaired).toBe(2);
    const again = await ok("POST", `/v1/connectors/${connector}/reconcile?dryRun=true`);
    expect(again.counts).toEqual({ missing: 0, extra: 0, members: 0, attributes: 0 });

    await ok("DELETE", `/v1/groups/${parent.id}?force=true`);
    await drained(connector);
    const visible = await ranger.visibleGroups();
    expect(visible).not.toContain(`p-${tag}`);
    expect(visible).not.toContain(`c2-${tag}`);
    // the queue gauges are read from the database, so any process shows this connector's; the
    // delivery counter counts what this process sent, and on a shared test database another
    // process's worker may be the one leading this connector
    const metrics = await t.request({ method: "GET", url: "/metrics" });
    expect(metrics.body).toContain(`gatehouse_connector_pending{connector="${name}"} 0`);
    expect(metrics.body).toContain("# TYPE gatehouse_connector_deliveries_total counter");
  });

  it("queues only what commits: a rolled-back change is never sent", async () => {
    const { org, connector } = await setup();
    const tag = uniqueName("r").slice(2, 10);
    await ok("POST", "/v1/groups", { orgId: org, name: `keep-${tag}` });
    // a second group with the same name fails and rolls back
    const dup = await t.request({ method: "POST", url: "/v1/groups", payload: { orgId: org, name: `KEEP-${tag}` } });
    expect(dup.statusCode).toBe(409);
    await drained(connector);
    const visible = await ranger.visibleGroups();
    expect(visible).toContain(`keep-${tag}`);
    expect(visible).not.toContain(`KEEP-${tag}`);
  });
});

const NX1 = "/api/govern/data-access/metadata/groups";

async function defaultOrg(): Promise<string> {
  return (await t.db.kysely.selectFrom("orgs").where("name", "=", "default").select("id").executeTakeFirstOrThrow()).id;
}

describe("connectors: dead letters and the Nx1 route", () => {
  it("answers 502 naming the target's refusal, parks the delivery, and converges once retried", async () => {
    const prefix = `nx1dl-${uniqueName("x").slice(2, 10)}`;
    const { connector } = await setup({ mode: "prefix", prefix }, await defaultOrg());
    await ok("PATCH", `/v1/connectors/${connector}`, { password: "not-the-password", config: { maxAttempts: 3 } });
    const refused = await t.request({ method: "POST", url: NX1, payload: { items: [`${prefix}-a`, `${prefix}-b`] } });
    expect(refused.statusCode, refused.body).toBe(502);
    expect(refused.json()).toEqual({ error: expect.stringMatching(/^ranger: 401 /), code: 502 });
    // the groups stay created
    const listed = await t.db.kysely
      .selectFrom("groups")
      .where("name", "like", `${prefix}-%`)
      .select(["id", "name"])
      .orderBy("name")
      .execute();
    expect(listed.map((g) => g.name)).toEqual([`${prefix}-a`, `${prefix}-b`]);
    const ids = Object.fromEntries(listed.map((g) => [g.name, g.id]));

    let dead: { groupId: string; attempts: number; lastError: string }[] = [];
    for (let i = 0; i < 300 && dead.length < 2; i++) {
      dead = (await ok("GET", `/v1/connectors/${connector}/dead-letters`)).items;
      if (dead.length < 2) await new Promise((r) => setTimeout(r, 100));
    }
    expect(dead).toHaveLength(2);
    expect(dead[0]).toMatchObject({ attempts: 3, lastError: expect.stringMatching(/^ranger: 401 /) });
    expect((await ok("GET", `/v1/connectors/${connector}/status`)).deadLettered).toBe(2);

    await ok("PATCH", `/v1/connectors/${connector}`, { password: ranger.password });
    await ok("POST", `/v1/connectors/${connector}/dead-letters/${ids[`${prefix}-a`]}/retry`);
    await ok("DELETE", `/v1/connectors/${connector}/dead-letters/${ids[`${prefix}-b`]}`);
    const missing = await t.request({
      method: "DELETE",
      url: `/v1/connectors/${connector}/dead-letters/${ids[`${prefix}-b`]}`,
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe("DEAD_LETTER_NOT_FOUND");
    await drained(connector);
    const visible = await ranger.visibleGroups();
    expect(visible).toContain(`${prefix}-a`);
    expect(visible).not.toContain(`${prefix}-b`); // dropped: left to the next reconcile
    // the same request again: -a is delivered, -b is not queued any more
    const again = await t.request({ method: "POST", url: NX1, payload: { items: [`${prefix}-a`, `${prefix}-b`] } });
    expect(again.statusCode, again.body).toBe(200);
    const dry = await ok("POST", `/v1/connectors/${connector}/reconcile?dryRun=true`);
    expect(dry.counts.missing).toBe(1);
    await ok("POST", `/v1/connectors/${connector}/reconcile`);
    expect(await ranger.visibleGroups()).toContain(`${prefix}-b`);
    await ok("DELETE", `/v1/connectors/${connector}`);
  });

  it("survives the target going down during 200 changes: 502 while down, 200 on resend, target == Gatehouse", {
    timeout: 600_000,
  }, async () => {
    const prefix = `nx1dn-${uniqueName("x").slice(2, 10)}`;
    const nx1 = await setup({ mode: "prefix", prefix }, await defaultOrg());
    const { org, connector } = await setup();
    const tag = uniqueName("d").slice(2, 10);
    await ranger.stop();
    try {
      const down = await t.request({ method: "POST", url: NX1, payload: { items: [`${prefix}-g`] } });
      expect(down.statusCode, down.body).toBe(502);
      expect(down.json()).toEqual({ error: expect.stringMatching(/^ranger: unreachable: /), code: 502 });
      // 200 changes while the target is down: 20 groups, 30 users, 150 memberships
      const groups: string[] = [];
      for (let i = 0; i < 20; i++)
        groups.push((await ok("POST", "/v1/groups", { orgId: org, name: `dn${i}-${tag}` })).id);
      const users: string[] = [];
      for (let i = 0; i < 30; i++) users.push(await user(org, `u${i}-${tag}`));
      for (let i = 0; i < 150; i++) {
        await ok("PUT", `/v1/groups/${groups[i % 20]}/members/${users[(i * 7) % 30]}`, { role: "member" });
      }
      const status = await ok("GET", `/v1/connectors/${connector}/status`);
      expect(status.pending).toBeGreaterThan(0);
    } finally {
      await ranger.start();
    }
    // a client that retries converges: the same request answers 200 once the group is delivered
    // (each try waits up to 3 s here; a loaded machine may need a few)
    let back = await t.request({ method: "POST", url: NX1, payload: { items: [`${prefix}-g`] } });
    for (let i = 0; i < 30 && back.statusCode === 502; i++) {
      back = await t.request({ method: "POST", url: NX1, payload: { items: [`${prefix}-g`] } });
    }
    expect(back.statusCode, back.body).toBe(200);
    expect(await ranger.visibleGroups()).toContain(`${prefix}-g`);
    await drained(connector);
    const dry = await ok("POST", `/v1/connectors/${connector}/reconcile?dryRun=true`);
    expect(dry.desired).toBe(20);
    expect(dry.counts).toEqual({ missing: 0, extra: 0, members: 0, attributes: 0 });
    const onTarget = await ranger.groupUsers();
    const effective = await t.db.kysely
      .selectFrom("group_members as m")
      .innerJoin("groups as g", "g.id", "m.group_id")
      .innerJoin("users as u", "u.id", "m.user_id")
      .where("g.org_id", "=", org)
      .select(["g.name", "u.username"])
      .execute();
    const expected: Record<string, string[]> = {};
    for (const r of effective) expected[r.name] = [...(expected[r.name] ?? []), r.username];
    for (const [g, members] of Object.entries(expected)) expect(onTarget[g]).toEqual(members.sort());
    await ok("DELETE", `/v1/connectors/${nx1.connector}`);
  });
});
