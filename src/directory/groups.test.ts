import { beforeAll, describe, expect, it } from "vitest";
import { createGroupVia, createOrgVia, createUserVia } from "../../test/support/directory.ts";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});

describe(`groups (${TEST_BACKEND})`, () => {
  it("creates a group with 201 and Location, and refuses a name taken case-insensitively with its id", async () => {
    const name = uniqueName("Sales");
    const res = await t.request({ method: "POST", url: "/v1/groups", payload: { name, title: "Sales" } });
    expect(res.statusCode).toBe(201);
    const group = res.json();
    expect(res.headers.location).toBe(`/v1/groups/${group.id}`);
    const dup = await t.request({ method: "POST", url: "/v1/groups", payload: { name: name.toUpperCase() } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({
      code: "GROUP_NAME_TAKEN",
      meta: { existingId: group.id },
      details: [{ field: "body.name", rule: "unique" }],
    });
    const audit = await t.request({ method: "GET", url: `/v1/audit/events?targetId=${group.id}&action=group.created` });
    expect(audit.json().total).toBe(1);
  });

  it.each([
    ["a/b", "noSlash"],
    [" lead", "noEdgeSpace"],
    ["trail ", "noEdgeSpace"],
    ["bell\u0007", "noControlCharacters"],
  ])("refuses the name %j naming the field and rule %s", async (name, rule) => {
    const res = await t.request({ method: "POST", url: "/v1/groups", payload: { name } });
    expect(res.statusCode).toBe(400);
    expect(res.json().details[0]).toMatchObject({ field: "body.name", rule });
    expect(res.json().message).toContain("body.name");
  });

  it("refuses names longer than 255 characters and accepts spaces, commas and unicode inside", async () => {
    const long = await t.request({ method: "POST", url: "/v1/groups", payload: { name: "x".repeat(256) } });
    expect(long.statusCode).toBe(400);
    expect(long.json().details[0]).toMatchObject({ field: "body.name", rule: "maxLength" });
    await createGroupVia(t, { name: `${uniqueName("Data Team")}, Zürich` });
  });

  it("applies the organisation's stricter name pattern", async () => {
    const org = await createOrgVia(t, { groupNamePattern: "^[A-Za-z0-9_-]+$" });
    const bad = await t.request({ method: "POST", url: "/v1/groups", payload: { orgId: org.id, name: "has space" } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details[0]).toMatchObject({ field: "body.name", rule: "orgPattern" });
    await createGroupVia(t, { orgId: org.id, name: "ok_name-1" });
    const badPattern = await t.request({
      method: "PATCH",
      url: `/v1/orgs/${org.id}`,
      payload: { groupNamePattern: "([" },
    });
    expect(badPattern.statusCode).toBe(400);
    expect(badPattern.json().details[0]).toMatchObject({ field: "body.groupNamePattern", rule: "regex" });
  });

  it("validates metadata against the default and a custom metaschema, naming the path inside metadata", async () => {
    const bad = await t.request({
      method: "POST",
      url: "/v1/groups",
      payload: { name: uniqueName(), metadata: { labels: { team: 5 } } },
    });
    expect(bad.statusCode).toBe(422);
    expect(bad.json()).toMatchObject({
      code: "METADATA_INVALID",
      details: [{ field: "body.metadata.labels.team", rule: "type" }],
    });
    const org = await createOrgVia(t);
    const schema = {
      type: "object",
      required: ["costCentre"],
      properties: { costCentre: { type: "string", pattern: "^CC-[0-9]+$" } },
    };
    const put = await t.request({ method: "PUT", url: `/v1/orgs/${org.id}/metaschemas/group`, payload: schema });
    expect(put.statusCode).toBe(200);
    const get = await t.request({ method: "GET", url: `/v1/orgs/${org.id}/metaschemas/group` });
    expect(get.json()).toEqual(schema);
    const missing = await t.request({
      method: "POST",
      url: "/v1/groups",
      payload: { orgId: org.id, name: "g1", metadata: {} },
    });
    expect(missing.json().details[0]).toMatchObject({ field: "body.metadata.costCentre", rule: "required" });
    const wrong = await t.request({
      method: "POST",
      url: "/v1/groups",
      payload: { orgId: org.id, name: "g1", metadata: { costCentre: "x" } },
    });
    expect(wrong.json().details[0]).toMatchObject({ field: "body.metadata.costCentre", rule: "pattern" });
    await createGroupVia(t, { orgId: org.id, metadata: { costCentre: "CC-12" } });
    const invalid = await t.request({
      method: "PUT",
      url: `/v1/orgs/${org.id}/metaschemas/group`,
      payload: { type: "nonsense" },
    });
    expect(invalid.statusCode).toBe(422);
    expect(invalid.json().code).toBe("METASCHEMA_INVALID");
  });

  it("keeps effective membership through the hierarchy, moves and cycles", async () => {
    const a = await createGroupVia(t);
    const b = await createGroupVia(t, { parentId: a.id });
    const c = await createGroupVia(t, { parentId: b.id });
    const user = await createUserVia(t);
    expect((await t.request({ method: "PUT", url: `/v1/groups/${c.id}/members/${user.id}` })).statusCode).toBe(201);

    const effective = await t.request({ method: "GET", url: `/v1/users/${user.id}/groups?effective=true` });
    expect(effective.json().total).toBe(3);
    expect(
      effective
        .json()
        .items.map((i: { group: { id: string } }) => i.group.id)
        .sort(),
    ).toEqual([a.id, b.id, c.id].sort());
    const direct = await t.request({ method: "GET", url: `/v1/users/${user.id}/groups?effective=false` });
    expect(direct.json()).toMatchObject({ total: 1, items: [{ group: { id: c.id }, direct: true, role: "member" }] });

    const members = await t.request({ method: "GET", url: `/v1/groups/${a.id}/members?effective=true` });
    expect(members.json()).toMatchObject({ total: 1, items: [{ user: { id: user.id }, direct: false, role: null }] });
    expect((await t.request({ method: "GET", url: `/v1/groups/${a.id}/members?effective=false` })).json().total).toBe(
      0,
    );

    const cycle = await t.request({ method: "PATCH", url: `/v1/groups/${a.id}`, payload: { parentId: c.id } });
    expect(cycle.statusCode).toBe(409);
    expect(cycle.json()).toMatchObject({
      code: "GROUP_HIERARCHY_CYCLE",
      details: [{ field: "body.parentId", rule: "acyclic" }],
    });
    const self = await t.request({ method: "PATCH", url: `/v1/groups/${a.id}`, payload: { parentId: a.id } });
    expect(self.statusCode).toBe(409);

    const moved = await t.request({ method: "PATCH", url: `/v1/groups/${c.id}`, payload: { parentId: null } });
    expect(moved.statusCode).toBe(200);
    const after = await t.request({ method: "GET", url: `/v1/users/${user.id}/groups` });
    expect(after.json().total).toBe(1);
    const x = await createGroupVia(t);
    await t.request({ method: "PATCH", url: `/v1/groups/${b.id}`, payload: { parentId: x.id } });
    await t.request({ method: "PATCH", url: `/v1/groups/${c.id}`, payload: { parentId: b.id } });
    const regrouped = await t.request({ method: "GET", url: `/v1/users/${user.id}/groups` });
    expect(
      regrouped
        .json()
        .items.map((i: { group: { id: string } }) => i.group.id)
        .sort(),
    ).toEqual([x.id, b.id, c.id].sort());
  });

  it("limits the depth of the hierarchy per organisation", async () => {
    const org = await createOrgVia(t, { groupMaxDepth: 3 });
    const g1 = await createGroupVia(t, { orgId: org.id });
    const g2 = await createGroupVia(t, { orgId: org.id, parentId: g1.id });
    const g3 = await createGroupVia(t, { orgId: org.id, parentId: g2.id });
    const deep = await t.request({
      method: "POST",
      url: "/v1/groups",
      payload: { orgId: org.id, name: "g4", parentId: g3.id },
    });
    expect(deep.statusCode).toBe(422);
    expect(deep.json()).toMatchObject({
      code: "GROUP_DEPTH_EXCEEDED",
      details: [{ field: "body.parentId", rule: "maxDepth" }],
    });
    const other = await createGroupVia(t, { orgId: org.id });
    const moveDeep = await t.request({ method: "PATCH", url: `/v1/groups/${g1.id}`, payload: { parentId: other.id } });
    expect(moveDeep.statusCode).toBe(422);
    const foreign = await t.request({ method: "POST", url: "/v1/groups", payload: { name: "x", parentId: g1.id } });
    expect(foreign.statusCode).toBe(422);
    expect(foreign.json()).toMatchObject({ code: "REFERENCE_NOT_FOUND", details: [{ field: "body.parentId" }] });
  });

  it("paginates children and lists with totals, never truncating", async () => {
    const parent = await createGroupVia(t);
    const names = ["delta", "Alpha", "charlie", "Bravo", "echo"].map((n) => `${n}-${parent.id.slice(0, 8)}`);
    for (const name of names)
      await createGroupVia(t, {
        name,
        parentId: parent.id,
        metadata: { labels: { tier: name.startsWith("e") ? "gold" : "std" } },
      });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.request({
        method: "GET",
        url: `/v1/groups/${parent.id}/children?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
      });
      expect(res.json().total).toBe(5);
      seen.push(...res.json().items.map((g: { name: string }) => g.name));
      cursor = res.json().nextCursor;
    } while (cursor);
    expect(seen).toEqual([...names].sort((x, y) => x.toLowerCase().localeCompare(y.toLowerCase())));
    const prefix = await t.request({ method: "GET", url: `/v1/groups?prefix=ALPHA-${parent.id.slice(0, 8)}` });
    expect(prefix.json().total).toBe(1);
    const exact = await t.request({ method: "GET", url: `/v1/groups?name=${names[4]?.toUpperCase()}` });
    expect(exact.json()).toMatchObject({ total: 1, items: [{ name: names[4] }] });
    const notAPrefix = await t.request({ method: "GET", url: `/v1/groups?name=${names[4]?.slice(0, -1)}` });
    expect(notAPrefix.json()).toMatchObject({ total: 0, items: [] });
    const q = await t.request({ method: "GET", url: `/v1/groups?q=${parent.id.slice(0, 8)}&parentId=${parent.id}` });
    expect(q.json().total).toBe(5);
    const meta = await t.request({ method: "GET", url: `/v1/groups?parentId=${parent.id}&metadata=labels.tier:gold` });
    expect(meta.json().items.map((g: { name: string }) => g.name)).toEqual([names[4]]);
    const badCursor = await t.request({ method: "GET", url: "/v1/groups?cursor=nonsense" });
    expect(badCursor.statusCode).toBe(400);
  });

  it("answers exact unfiltered totals from the maintained counts, through creations and deletions", async () => {
    const org = await createOrgVia(t);
    const groups = [];
    for (let i = 0; i < 3; i++) groups.push(await createGroupVia(t, { orgId: org.id }));
    await createGroupVia(t, { orgId: org.id, parentId: groups[0]?.id });
    const list = async () => (await t.request({ method: "GET", url: `/v1/groups?orgId=${org.id}&limit=2` })).json();
    expect((await list()).total).toBe(4);
    await t.request({ method: "DELETE", url: `/v1/groups/${groups[0]?.id}?force=true` });
    expect((await list()).total).toBe(2);
    for (let i = 0; i < 3; i++) await createUserVia(t, { orgId: org.id });
    expect((await t.request({ method: "GET", url: `/v1/users?orgId=${org.id}` })).json().total).toBe(3);
  });

  it("refuses to delete a non-empty group unless forced, auditing each removal", async () => {
    const parent = await createGroupVia(t);
    const child = await createGroupVia(t, { parentId: parent.id });
    const user = await createUserVia(t);
    await t.request({ method: "PUT", url: `/v1/groups/${child.id}/members/${user.id}` });
    const refused = await t.request({ method: "DELETE", url: `/v1/groups/${parent.id}` });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: "GROUP_NOT_EMPTY", meta: { children: 1, members: 0 } });
    const forced = await t.request({ method: "DELETE", url: `/v1/groups/${parent.id}?force=true` });
    expect(forced.statusCode).toBe(204);
    expect((await t.request({ method: "GET", url: `/v1/groups/${child.id}` })).statusCode).toBe(404);
    const removed = await t.request({
      method: "GET",
      url: `/v1/audit/events?targetId=${child.id}&action=group.member.removed`,
    });
    expect(removed.json().total).toBe(1);
    const deleted = await t.request({ method: "GET", url: "/v1/audit/events?action=group.deleted&limit=1000" });
    const ids = deleted.json().items.map((e: { target: { id: string } }) => e.target.id);
    expect(ids).toEqual(expect.arrayContaining([parent.id, child.id]));
  });

  it("answers 404 naming the id for a missing group and lists groups in the OpenAPI document", async () => {
    const res = await t.request({ method: "GET", url: "/v1/groups/00000000-0000-4000-8000-000000000000" });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: "GROUP_NOT_FOUND", details: [{ field: "path.id" }] });
    const doc = (await t.request({ method: "GET", url: "/openapi.json" })).json();
    for (const path of [
      "/v1/groups",
      "/v1/groups/{id}/members",
      "/v1/groups/{id}/members:batch",
      "/v1/users/{id}/roles",
      "/v1/identity-sources/{id}/test",
      "/v1/orgs/{id}/metaschemas/group",
      "/v1/role-bindings",
    ]) {
      expect(doc.paths[path], path).toBeDefined();
    }
  });
});
