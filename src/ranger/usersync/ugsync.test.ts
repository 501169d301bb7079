import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceAccountHeaders } from "../../../test/support/credentials.ts";
import { uniqueName } from "../../../test/support/factories.ts";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";
import { runUsersyncCycle, type Send, type SyncSource, syntheticSource } from "../../../test/support/usersync.ts";

let t: TestApp;
let send: Send;
/** usersync's view of Ranger: its own organisation, so other test files' users on a shared database never page through it. */
let syncSend: Send;
let syncOrg: string;

function sender(auth: Record<string, string>): Send {
  return async (method, url, body) => {
    const res = await t.app.inject({
      method,
      url,
      headers: { ...auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
    });
    return { status: res.statusCode, body: res.body ? res.json() : null };
  };
}

beforeAll(async () => {
  t = await testApp();
  send = sender(await serviceAccountHeaders(t, ["directory-admin"]));
  const org = await t.request({ method: "POST", url: "/v1/orgs", payload: { name: uniqueName("org") } });
  expect(org.statusCode, org.body).toBe(201);
  syncOrg = org.json().id;
  syncSend = sender(await serviceAccountHeaders(t, ["directory-admin"], syncOrg));
}, 180_000); // building the app under a loaded test machine can take a while
afterAll(async () => {
  await t.app.close();
});

const X = "/service/xusers";

/** A trino service whose one policy lets group `group` select from catalog `sales`. */
async function policyFor(group: string) {
  const service = uniqueName("svc");
  expect(
    (await t.request({ method: "POST", url: "/v1/services", payload: { name: service, type: "trino" } })).statusCode,
  ).toBe(201);
  const policy = await t.request({
    method: "POST",
    url: `/v1/services/${service}/policies`,
    payload: {
      name: uniqueName("p"),
      resources: { catalog: { values: ["sales"] }, schema: { values: ["*"] }, table: { values: ["*"] } },
      policyItems: [{ groups: [group], accesses: [{ type: "select" }] }],
    },
  });
  expect(policy.statusCode, policy.body).toBe(201);
  return async (user: string) => {
    const res = await t.request({
      method: "POST",
      url: "/v1/decisions",
      payload: { service, user, resource: { catalog: "sales", schema: "s", table: "t" }, accessType: "select" },
    });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().allowed as boolean;
  };
}

describe("Ranger usersync against the ugsync endpoints", () => {
  it("pushes users, groups and memberships in batches, then deltas; decisions follow the memberships", async () => {
    const prefix = uniqueName("ldap");
    const source: SyncSource = syntheticSource(prefix, 500, 50, 2000);
    const g0 = `${prefix}-g0`;
    const allowed = await policyFor(g0);
    const members = source.members.get(g0) as Set<string>;
    const [member] = [...members];
    const outsider = source.users.find((u) => !members.has(u)) as string;

    // first cycle: everything is new; usersync's batch size of 200 makes several batches of each
    const first = await runUsersyncCycle(syncSend, source, { batch: 200, syncSource: prefix });
    expect(first).toMatchObject({ newGroups: 50, newUsers: 500, changedMemberships: 2000, hiddenUsers: 0 });
    expect(first.answers[`${X}/ugsync/groups/`]).toEqual([50]);
    expect(first.answers[`${X}/ugsync/users`]).toEqual([200, 200, 100]);
    expect(first.answers[`${X}/ugsync/groupusers`]).toEqual([50]);
    expect(await allowed(member as string)).toBe(true);
    expect(await allowed(outsider)).toBe(false);

    // pushed entries are ordinary directory entries, source ranger-usersync, with their DN and audit trail
    const users = await t.request({ method: "GET", url: `/v1/users?orgId=${syncOrg}&prefix=${prefix}-u1&limit=1` });
    const user = users.json().items[0];
    expect(user).toMatchObject({ source: "ranger-usersync" });
    expect(user.attributes).toMatchObject({ full_name: `uid=${user.username},ou=people,dc=example,dc=com` });
    const added = await sql<{ n: number }>`select count(*)::int as n from audit_events a
      join groups g on g.id::text = a.target_id
      where a.action = 'group.member.added' and g.name like ${`${prefix}-%`}`.execute(t.db.kysely);
    expect(added.rows[0]?.n).toBe(2000);

    // second cycle: the source moved `member` out of g0 and `outsider` in, gained 20 users and lost 10
    members.delete(member as string);
    members.add(outsider);
    const gone = source.users.slice(-10);
    source.users = [...source.users.slice(0, -10), ...Array.from({ length: 20 }, (_, i) => `${prefix}-new${i}`)];
    for (const set of source.members.values()) for (const u of gone) set.delete(u);
    const second = await runUsersyncCycle(syncSend, source, { batch: 200, syncSource: prefix });
    expect(second).toMatchObject({ newGroups: 0, newUsers: 20, hiddenUsers: 10 });
    expect(second.answers[`${X}/ugsync/users`]).toEqual([20]);
    expect(await allowed(member as string)).toBe(false);
    expect(await allowed(outsider)).toBe(true);
    const hidden = await syncSend("GET", `${X}/users/userName/${gone[0]}`);
    expect(hidden.body).toMatchObject({ name: gone[0], isVisible: 0 });

    // a third cycle finds nothing to push
    const third = await runUsersyncCycle(syncSend, source, { batch: 200, syncSource: prefix });
    expect(third).toMatchObject({ newGroups: 0, newUsers: 0, changedMemberships: 0, hiddenUsers: 0 });
    expect(third.answers).toEqual({});
  }, 240_000);

  it("answers a startIndex or pageSize past Ranger's int with a 400 naming it, on every paged list", async () => {
    for (const path of ["users", "groups", "groupusers"]) {
      for (const field of ["startIndex", "pageSize"]) {
        const res = await send("GET", `${X}/${path}?${field}=99999999999999999999`);
        expect(res.status, `${path} ${field}`).toBe(400);
        expect(JSON.stringify(res.body)).toContain(field);
      }
    }
  });

  it("keeps Ranger's silent skips and counts", async () => {
    const prefix = uniqueName("skip");
    const users = await send("POST", `${X}/ugsync/users`, {
      vXUsers: [
        { name: `${prefix}-a`, firstName: `${prefix}-a` },
        { name: `${prefix}-b` }, // no first name: skipped, uncounted
        { name: "null", firstName: "x" }, // the string null: skipped
        null,
      ],
    });
    expect(users).toEqual({ status: 200, body: 1 });
    const groups = await send("POST", `${X}/ugsync/groups`, {
      vXGroups: [{ name: `${prefix}-g` }, { name: " " }, null],
    });
    expect(groups).toEqual({ status: 200, body: 3 }); // the size of the list, as Ranger
    const memberships = await send("POST", `${X}/ugsync/groupusers`, [
      { groupName: `${prefix}-g`, addUsers: [`${prefix}-a`, `${prefix}-nobody`] },
      { groupName: `${prefix}-missing`, addUsers: [`${prefix}-a`] },
      { groupName: `${prefix}-g` },
    ]);
    expect(memberships).toEqual({ status: 200, body: 1 });
    const map = (await send("GET", `${X}/ugsync/groupusers`)).body as Record<string, string[]>;
    expect(map[`${prefix}-g`]).toEqual([`${prefix}-a`]);
    const visibility = await send("POST", `${X}/ugsync/groups/visibility`, [`${prefix}-g`, `${prefix}-missing`]);
    expect(visibility).toEqual({ status: 200, body: 2 });
    expect((await send("GET", `${X}/groups/groupName/${prefix}-g`)).body).toMatchObject({ isVisible: 0 });
  });

  it("treats the NFC and NFD spellings of a name as one user or group, and refuses invisible ones", async () => {
    const prefix = uniqueName("nfd");
    const [nfc, nfd] = [`${prefix}-caf\u00e9`, `${prefix}-cafe\u0301`];
    const push = (name: string) => send("POST", `${X}/ugsync/users`, { vXUsers: [{ name, firstName: "x" }] });
    expect(await push(nfd)).toEqual({ status: 200, body: 1 });
    expect(await push(nfc)).toEqual({ status: 200, body: 1 }); // the same user, updated, not a second one
    expect(await send("POST", `${X}/ugsync/groups`, { vXGroups: [{ name: nfd }] })).toMatchObject({ status: 200 });
    expect(await send("POST", `${X}/ugsync/groupusers`, [{ groupName: nfc, addUsers: [nfd] }])).toEqual({
      status: 200,
      body: 1,
    });
    const users = await t.db.kysely
      .selectFrom("users")
      .select("username")
      .where("username", "like", `${prefix}%`)
      .execute();
    expect(users.map((u) => u.username)).toEqual([nfc]);
    const map = (await send("GET", `${X}/ugsync/groupusers`)).body as Record<string, string[]>;
    expect(map[nfc]).toEqual([nfc]);
    const hidden = await push(`${prefix}-\u200bx`);
    expect(hidden.status).toBe(400);
    expect(hidden.body).toMatchObject({ statusCode: 1, messageList: [{ name: "noInvisibleCharacters" }] });
  });

  it("refuses bad batches in Ranger's error shape, and writes nothing", async () => {
    const prefix = uniqueName("bad");
    const res = await send("POST", `${X}/ugsync/groups`, {
      vXGroups: [{ name: `${prefix}-ok` }, { name: `${prefix}/slash` }],
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      statusCode: 1,
      messageList: [{ rbKey: "body.vXGroups[1].name", name: "noSlash" }],
    });
    expect((await send("GET", `${X}/groups/groupName/${prefix}-ok`)).status).toBe(404);
    // a name longer than a username may be (found by the fuzzer: it was an index error, a 500)
    const long = `${prefix}-${"x".repeat(10_000)}`;
    const users = await send("POST", `${X}/ugsync/users`, {
      vXUsers: [
        { name: `${prefix}-fine`, firstName: "f" },
        { name: long, firstName: "l" },
      ],
    });
    expect(users.status).toBe(400);
    expect(users.body).toMatchObject({ messageList: [{ rbKey: "body.vXUsers[1].name", name: "maxLength" }] });
    expect((await send("GET", `${X}/users/userName/${prefix}-fine`)).status).toBe(404);
    for (const url of [`${X}/users`, `${X}/secure/users`]) {
      const one = await send("POST", url, { name: long, firstName: "l" });
      expect(one.status, url).toBe(400);
      expect(one.body, url).toMatchObject({ messageList: [{ name: "maxLength" }] });
    }
    const viewer = await serviceAccountHeaders(t, ["viewer"]);
    const denied = await t.app.inject({ method: "POST", url: `${X}/ugsync/users`, headers: viewer, payload: {} });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ statusCode: 1 });
  });
});
