import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { createGroupVia, createUserVia } from "../../test/support/directory.ts";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { SYSTEM_CONTEXT } from "../audit/audit.service.ts";
import { USER_SEARCH_TEXT } from "./lists.ts";
import { createUserRow } from "./users.service.ts";

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});

describe(`users and organisations (${TEST_BACKEND})`, () => {
  it("compares usernames case-insensitively and filters by attribute", async () => {
    const name = uniqueName("Alice");
    const user = await createUserVia(t, { username: name, attributes: { dept: "sales" }, email: "a@example.com" });
    const dup = await t.request({ method: "POST", url: "/v1/users", payload: { username: name.toLowerCase() } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({
      code: "USERNAME_TAKEN",
      meta: { existingId: user.id },
      details: [{ field: "body.username" }],
    });
    const found = await t.request({
      method: "GET",
      url: `/v1/users?prefix=${name.toUpperCase()}&attribute=dept:sales`,
    });
    expect(found.json()).toMatchObject({ total: 1, items: [{ id: user.id }] });
    // Keycloak's `username` + `exact=true`: exact, case-insensitive, never a prefix.
    const exact = await t.request({ method: "GET", url: `/v1/users?username=${name.toUpperCase()}` });
    expect(exact.json()).toMatchObject({ total: 1, items: [{ id: user.id }] });
    const partial = await t.request({ method: "GET", url: `/v1/users?username=${name.slice(0, -1)}` });
    expect(partial.json()).toMatchObject({ total: 0, items: [] });
    const badEmail = await t.request({
      method: "POST",
      url: "/v1/users",
      payload: { username: uniqueName(), email: "nope" },
    });
    expect(badEmail.statusCode).toBe(400);
    expect(badEmail.json().details[0].field).toBe("body.email");
  });

  it("searches a substring of username, display name or email, case-insensitively, through the trigram index", async () => {
    const org = (await t.request({ method: "POST", url: "/v1/orgs", payload: { name: uniqueName("org") } })).json();
    const tag = randomUUID().slice(0, 8);
    const byName = await createUserVia(t, { orgId: org.id, username: `Ann-${tag}-x` });
    const byDisplay = await createUserVia(t, { orgId: org.id, displayName: `Dr ${tag.toUpperCase()} Who` });
    const byEmail = await createUserVia(t, { orgId: org.id, email: `m.${tag}@example.com` });
    await createUserVia(t, { orgId: org.id, username: `other-${randomUUID().slice(0, 8)}` });
    const search = async (q: string) =>
      (await t.request({ method: "GET", url: `/v1/users?orgId=${org.id}&q=${encodeURIComponent(q)}` })).json();
    const all = await search(tag.toUpperCase());
    expect(all.total).toBe(3);
    expect(all.items.map((u: { id: string }) => u.id).sort()).toEqual([byName.id, byDisplay.id, byEmail.id].sort());
    expect((await search(`${tag}-X`)).items).toEqual([expect.objectContaining({ id: byName.id })]);
    // the index joins the fields with U+001F: a search never matches across two fields
    expect((await search(`${tag}-x\u001f`)).total).toBe(0);
    expect((await search("-x\u001fdr")).total).toBe(0);
    // the search's expression is the index's: with sequential scans off, the plan can use it
    const plan = await t.db.transaction(async (tx) => {
      await sql`set local enable_seqscan = off`.execute(tx);
      const rows = await sql<{ "QUERY PLAN": string }>`explain select id from users
        where ${USER_SEARCH_TEXT} like ${`%${tag}%`}`.execute(tx);
      return rows.rows.map((r) => r["QUERY PLAN"]).join("\n");
    });
    expect(plan).toContain("users_search_trgm");
  });

  it("creates a user and its audit event in one statement, outside a transaction too", async () => {
    const org = (await t.db.kysely.selectFrom("orgs").select("id").orderBy("created_at").executeTakeFirstOrThrow()).id;
    const name = uniqueName("Carol");
    const row = await createUserRow(t.db.kysely, SYSTEM_CONTEXT, {
      orgId: org,
      username: name,
      attributes: { scim: { name: { givenName: "Carol" } } },
      source: "scim",
    });
    const read = await t.request({ method: "GET", url: `/v1/users/${row.id}` });
    expect(read.json()).toMatchObject({ id: row.id, username: name, source: "scim" });
    const events = await t.db.kysely.selectFrom("audit_events").where("target_id", "=", row.id).selectAll().execute();
    expect(events.map((e) => e.action)).toEqual(["user.created"]);
    expect(events[0]?.after).toEqual(read.json());
    // a taken name writes neither a user nor an event
    await expect(
      createUserRow(t.db.kysely, SYSTEM_CONTEXT, { orgId: org, username: name.toUpperCase() }),
    ).rejects.toMatchObject({
      code: "USERNAME_TAKEN",
    });
    // the insert's foreign key names an unknown organisation
    await expect(
      createUserRow(t.db.kysely, SYSTEM_CONTEXT, { orgId: randomUUID(), username: name }),
    ).rejects.toMatchObject({
      code: "REFERENCE_NOT_FOUND",
      details: [{ field: "body.orgId" }],
    });
    const after = await t.db.kysely.selectFrom("audit_events").where("target_id", "=", row.id).select("id").execute();
    expect(after).toHaveLength(1);
  });

  it("deletes a user with its memberships and bindings, each audited", async () => {
    const user = await createUserVia(t);
    const group = await createGroupVia(t);
    await t.request({ method: "PUT", url: `/v1/groups/${group.id}/members/${user.id}` });
    const roles = await t.request({ method: "GET", url: "/v1/roles?builtin=true&prefix=viewer" });
    const binding = await t.request({
      method: "POST",
      url: "/v1/role-bindings",
      payload: { roleId: roles.json().items[0].id, principal: { type: "user", id: user.id } },
    });
    expect((await t.request({ method: "DELETE", url: `/v1/users/${user.id}` })).statusCode).toBe(204);
    expect((await t.request({ method: "GET", url: `/v1/users/${user.id}` })).statusCode).toBe(404);
    expect((await t.request({ method: "GET", url: `/v1/groups/${group.id}/members` })).json().total).toBe(0);
    const removed = await t.request({
      method: "GET",
      url: `/v1/audit/events?targetId=${group.id}&action=group.member.removed`,
    });
    expect(removed.json().total).toBe(1);
    const unbound = await t.request({
      method: "GET",
      url: `/v1/audit/events?targetId=${binding.json().id}&action=role_binding.deleted`,
    });
    expect(unbound.json().total).toBe(1);
  });

  it("creates organisations with unique names and keeps org-bound callers inside their org", async () => {
    const name = uniqueName("Org");
    const res = await t.request({ method: "POST", url: "/v1/orgs", payload: { name, title: "Acme" } });
    expect(res.statusCode).toBe(201);
    expect(res.headers.location).toBe(`/v1/orgs/${res.json().id}`);
    const dup = await t.request({ method: "POST", url: "/v1/orgs", payload: { name: name.toLowerCase() } });
    expect(dup.json()).toMatchObject({ code: "ORG_NAME_TAKEN", meta: { existingId: res.json().id } });
    const user = await createUserVia(t, { orgId: res.json().id });
    expect(user.orgId).toBe(res.json().id);
    const list = await t.request({ method: "GET", url: "/v1/orgs?limit=1000" });
    expect(list.json().items.some((o: { name: string }) => o.name === "default")).toBe(true);
  });
});
