import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { createGroupVia, createUserVia } from "../../test/support/directory.ts";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { defaultOrgId } from "./default-org.ts";

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});

/** Inserts `n` users in one statement (the bulk path) and returns their ids. */
async function bulkUsers(n: number): Promise<string[]> {
  const orgId = await defaultOrgId(t.db.kysely);
  const prefix = uniqueName("bulk");
  const rows = await sql<{ id: string }>`
    insert into users (org_id, username) select ${orgId}::uuid, ${prefix} || '-' || i from generate_series(1, ${n}) as i
    returning id`.execute(t.db.kysely);
  return rows.rows.map((r) => r.id);
}

describe(`members (${TEST_BACKEND})`, () => {
  it("adds with PUT (201 then 200), changes roles, and removes with DELETE", async () => {
    const group = await createGroupVia(t);
    const user = await createUserVia(t);
    const url = `/v1/groups/${group.id}/members/${user.id}`;
    expect((await t.request({ method: "PUT", url })).statusCode).toBe(201);
    expect((await t.request({ method: "PUT", url })).statusCode).toBe(200);
    const owner = await t.request({ method: "PUT", url, payload: { role: "owner" } });
    expect(owner.json()).toEqual({ groupId: group.id, userId: user.id, role: "owner" });
    const changed = await t.request({
      method: "GET",
      url: `/v1/audit/events?targetId=${group.id}&action=group.member.role_changed`,
    });
    expect(changed.json().total).toBe(1);
    const missing = await t.request({
      method: "DELETE",
      url: `/v1/groups/${group.id}/members/${(await createUserVia(t)).id}`,
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe("MEMBER_NOT_FOUND");
  });

  it("never removes or demotes the last owner, even under concurrent demotions", async () => {
    const group = await createGroupVia(t);
    const [a, b] = [await createUserVia(t), await createUserVia(t)];
    await t.request({ method: "PUT", url: `/v1/groups/${group.id}/members/${a.id}`, payload: { role: "owner" } });
    const demote = await t.request({
      method: "PUT",
      url: `/v1/groups/${group.id}/members/${a.id}`,
      payload: { role: "member" },
    });
    expect(demote.statusCode).toBe(409);
    expect(demote.json()).toMatchObject({ code: "GROUP_LAST_OWNER", details: [{ rule: "lastOwner" }] });
    const remove = await t.request({ method: "DELETE", url: `/v1/groups/${group.id}/members/${a.id}` });
    expect(remove.statusCode).toBe(409);
    await t.request({ method: "PUT", url: `/v1/groups/${group.id}/members/${b.id}`, payload: { role: "owner" } });
    const results = await Promise.all(
      [a, b].map((u) => t.request({ method: "DELETE", url: `/v1/groups/${group.id}/members/${u.id}` })),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([204, 409]);
    const owners = await t.request({ method: "GET", url: `/v1/groups/${group.id}/members?effective=false` });
    expect(owners.json().items.filter((m: { role: string }) => m.role === "owner")).toHaveLength(1);
  });

  it("adds and removes 10,000 members in one batch, and writes nothing when one user is unknown", async () => {
    const group = await createGroupVia(t);
    const ids = await bulkUsers(10_000);
    const batch = await t.request({
      method: "POST",
      url: `/v1/groups/${group.id}/members:batch`,
      payload: { add: ids },
    });
    expect(batch.statusCode, batch.body).toBe(200);
    expect(batch.json()).toEqual({ added: 10_000, removed: 0, unchanged: 0 });
    const page = await t.request({ method: "GET", url: `/v1/groups/${group.id}/members?limit=1000` });
    expect(page.json().total).toBe(10_000);
    expect(page.json().items).toHaveLength(1000);
    const audited = await t.request({
      method: "GET",
      url: `/v1/audit/events?targetId=${group.id}&action=group.member.added&limit=1`,
    });
    expect(audited.json().total).toBe(10_000);

    const other = await createGroupVia(t);
    const unknown = "00000000-0000-4000-8000-000000000001";
    const refused = await t.request({
      method: "POST",
      url: `/v1/groups/${other.id}/members:batch`,
      payload: { add: [ids[0], ids[1], unknown] },
    });
    expect(refused.statusCode).toBe(422);
    expect(refused.json()).toMatchObject({
      code: "REFERENCE_NOT_FOUND",
      details: [{ field: "body.add[2]", rule: "exists" }],
    });
    expect((await t.request({ method: "GET", url: `/v1/groups/${other.id}/members` })).json().total).toBe(0);

    const removed = await t.request({
      method: "POST",
      url: `/v1/groups/${group.id}/members:batch`,
      payload: { remove: ids.slice(0, 4000), add: [] },
    });
    expect(removed.json()).toEqual({ added: 0, removed: 4000, unchanged: 0 });
    const tooMany = await t.request({
      method: "POST",
      url: `/v1/groups/${group.id}/members:batch`,
      payload: { add: [...ids, unknown] },
    });
    expect(tooMany.statusCode).toBe(400);
    expect(tooMany.json().details[0]).toMatchObject({ field: "body.add", rule: "maxItems" });
  });

  it("filters members by username prefix, effective through subgroups", async () => {
    const parent = await createGroupVia(t);
    const child = await createGroupVia(t, { parentId: parent.id });
    const tag = uniqueName("Pfx");
    const u1 = await createUserVia(t, { username: `${tag}-one` });
    await createUserVia(t, { username: `${tag}-two` });
    const u3 = await createUserVia(t);
    await t.request({ method: "PUT", url: `/v1/groups/${child.id}/members/${u1.id}` });
    await t.request({ method: "PUT", url: `/v1/groups/${parent.id}/members/${u3.id}` });
    const res = await t.request({
      method: "GET",
      url: `/v1/groups/${parent.id}/members?usernamePrefix=${tag.toLowerCase()}`,
    });
    expect(res.json()).toMatchObject({ total: 1, items: [{ user: { id: u1.id }, direct: false }] });
    expect((await t.request({ method: "GET", url: `/v1/groups/${parent.id}/members` })).json().total).toBe(2);
  });
});
