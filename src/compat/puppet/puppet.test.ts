import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../../test/support/factories.ts";
import { DATA_TEAM_DN, ENGINEERING_DN, startTestLdap, type TestLdap } from "../../../test/support/ldap.ts";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../../test/support/test-db.ts";
import { buildRole, buildTenant, nativeView, type Tenant } from "../shared/tenant.test-support.ts";

let t: TestApp;
let ldap: TestLdap;

beforeAll(async () => {
  [t, ldap] = await Promise.all([testApp(), startTestLdap()]);
}, 60_000);
afterAll(async () => {
  await ldap?.stop();
  await t?.app.close();
});

const as = (tenant: Tenant) => ({ "x-authentication": tenant.adminKey });

async function post(tenant: Tenant, url: string, payload: unknown, headers: Record<string, string> = as(tenant)) {
  return t.request({ method: "POST", url, headers, payload: payload as Record<string, unknown> });
}

describe(`Puppet RBAC groups against a real slapd (${TEST_BACKEND})`, () => {
  it("answers the seed's POST /v2/groups with 303 and Location; the group is native with its LDAP members and roles", async () => {
    const tenant = await buildTenant(t, ldap);
    const [r1, r2] = [await buildRole(t, tenant.orgId), await buildRole(t, tenant.orgId)];
    const res = await post(tenant, "/rbac-api/v2/groups", {
      login: "engineering",
      role_ids: [r1.num, r2.num],
      display_name: "The Engineers",
      identity_provider_id: tenant.sourceId,
    });
    expect(res.statusCode, res.body).toBe(303);
    expect(res.body).toBe("");
    const location = res.headers.location as string;
    expect(location).toMatch(/^\/rbac-api\/v1\/groups\/[0-9a-f-]{36}$/);

    const got = await t.request({ method: "GET", url: location, headers: as(tenant) });
    expect(got.statusCode, got.body).toBe(200);
    const group = got.json();
    expect(group).toMatchObject({
      login: "engineering",
      display_name: "The Engineers",
      role_ids: [r1.num, r2.num].sort((a, b) => a - b),
      is_group: true,
      is_remote: true,
      is_superuser: false,
      identity_provider_id: tenant.sourceId,
    });

    const native = await nativeView(t, group.id);
    expect(native.group).toMatchObject({ name: "engineering", source: "ldap", externalId: ENGINEERING_DN });
    // A remote group's users are the directory's (nested groups expanded), and no one else: Puppet
    // has no group owners, so the creating user is not added.
    expect(native.members.map((m) => m.user.username).sort()).toEqual(["user0001", "user0002", "user0003"]);
    expect(native.members.every((m) => m.role === "member")).toBe(true);
    expect(group.user_ids.sort()).toEqual(native.members.map((m) => m.user.id).sort());
    expect(native.bindings.map((b) => b.roleId).sort()).toEqual([r1.id, r2.id].sort());
    expect(native.bindings.every((b) => b.scope.type === "org")).toBe(true);
  });

  it("answers a directory it cannot reach with 502 server-error naming the source, and writes nothing", async () => {
    const tenant = await buildTenant(t, ldap);
    const source = await t.request({
      method: "POST",
      url: "/v1/identity-sources",
      payload: {
        orgId: tenant.orgId,
        name: uniqueName("down"),
        kind: "ldap",
        config: { url: "ldap://127.0.0.1:9", baseDn: "dc=example,dc=org", timeoutMs: 2000 },
      },
    });
    expect(source.statusCode, source.body).toBe(201);
    const res = await post(tenant, "/rbac-api/v2/groups", {
      login: uniqueName("g"),
      role_ids: [],
      identity_provider_id: source.json().id,
    });
    expect(res.statusCode, res.body).toBe(502);
    expect(res.json()).toMatchObject({ kind: "server-error" });
    expect(res.json().msg).toContain(source.json().name);
    const list = await t.request({ method: "GET", url: "/rbac-api/v1/groups", headers: as(tenant) });
    expect(list.json()).toEqual([]);
  });

  it("refuses a login LDAP does not know with 422 no-such-group-LDAP and writes nothing; validate:false creates it", async () => {
    const tenant = await buildTenant(t, ldap);
    const login = uniqueName("augmentators");
    const res = await post(tenant, "/rbac-api/v2/groups", { login, role_ids: [] });
    expect(res.statusCode, res.body).toBe(422);
    expect(res.json()).toMatchObject({ kind: "no-such-group-LDAP", details: { login } });
    expect(res.json().msg).toContain(login);
    const list = await t.request({ method: "GET", url: "/rbac-api/v1/groups", headers: as(tenant) });
    expect(list.json()).toEqual([]);

    const unchecked = await post(tenant, "/rbac-api/v2/groups", { login, role_ids: [], validate: false });
    expect(unchecked.statusCode, unchecked.body).toBe(303);
    const again = await post(tenant, "/rbac-api/v2/groups", {
      login: login.toUpperCase(),
      role_ids: [],
      validate: false,
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().kind).toBe("conflict");
  });

  it("creates through the command endpoint (200 with the group), also by DN and across sources", async () => {
    const tenant = await buildTenant(t, ldap);
    const res = await post(tenant, "/rbac-api/v1/command/groups/create", { login: DATA_TEAM_DN, role_ids: [] });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      login: DATA_TEAM_DN,
      display_name: DATA_TEAM_DN,
      role_ids: [],
      is_remote: true,
    });
    expect(res.json().user_ids).toHaveLength(2); // user0001 and user0002, the directory's only
    const byName = await post(tenant, "/rbac-api/v1/command/groups/create", { login: "loop-a", role_ids: [] });
    expect(byName.statusCode, byName.body).toBe(200);
    expect(byName.json().user_ids).toHaveLength(2); // user0004, and user0005 through the cycle with loop-b
  });

  it("answers malformed and schema-violating bodies, unknown roles and sources in Puppet's kinds", async () => {
    const tenant = await buildTenant(t, ldap);
    const seedAsPrinted =
      '{ "login": "augmentators", "role_ids": [1,2,3], "display_name": "The Augmentators" "idnetity_provider_id": "0e1a11bd-658f...-732887" }';
    const malformed = await t.request({
      method: "POST",
      url: "/rbac-api/v2/groups",
      headers: { ...as(tenant), "content-type": "application/json" },
      payload: seedAsPrinted,
    });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().kind).toBe("malformed-request");
    const typo = await post(tenant, "/rbac-api/v2/groups", { login: "x", role_ids: [], idnetity_provider_id: "y" });
    expect(typo.statusCode).toBe(400);
    expect(typo.json()).toMatchObject({ kind: "schema-violation", details: { submitted: { login: "x" } } });
    expect(typo.json().msg).toContain("idnetity_provider_id");
    const noRoles = await post(tenant, "/rbac-api/v2/groups", { login: "engineering" });
    expect(noRoles.json().kind).toBe("schema-violation");
    const role = await post(tenant, "/rbac-api/v2/groups", { login: "engineering", role_ids: [999_999] });
    expect(role.statusCode).toBe(422);
    expect(role.json()).toMatchObject({ kind: "invalid-associated-id", details: { role_id: 999_999 } });
    const source = await post(tenant, "/rbac-api/v2/groups", {
      login: "engineering",
      role_ids: [],
      identity_provider_id: "00000000-0000-4000-8000-000000000000",
    });
    expect(source.statusCode).toBe(422);
    expect(source.json().kind).toBe("invalid-associated-id");
  });

  it("lists with the id filter, gets, replaces role_ids, grants and revokes roles, deletes", async () => {
    const tenant = await buildTenant(t, ldap);
    const [r1, r2] = [await buildRole(t, tenant.orgId), await buildRole(t, tenant.orgId)];
    const a = (
      await post(tenant, "/rbac-api/v1/command/groups/create", { login: "team-0001", role_ids: [r1.num] })
    ).json();
    const b = (await post(tenant, "/rbac-api/v1/command/groups/create", { login: "team-0002", role_ids: [] })).json();
    const h = as(tenant);
    const all = await t.request({ method: "GET", url: "/rbac-api/v1/groups", headers: h });
    expect(all.json().map((g: { login: string }) => g.login)).toEqual(["team-0001", "team-0002"]);
    const one = await t.request({ method: "GET", url: `/rbac-api/v1/groups?id=${b.id}`, headers: h });
    expect(one.json().map((g: { id: string }) => g.id)).toEqual([b.id]);
    const badFilter = await t.request({ method: "GET", url: "/rbac-api/v1/groups?id=nope,", headers: h });
    expect(badFilter.statusCode).toBe(400);
    expect(badFilter.json().kind).toBe("invalid-id-filter");
    const badUuid = await t.request({ method: "GET", url: "/rbac-api/v1/groups/not-a-uuid", headers: h });
    expect(badUuid.statusCode).toBe(400);
    expect(badUuid.json().kind).toBe("invalid-uuid");

    const put = await t.request({
      method: "PUT",
      url: `/rbac-api/v1/groups/${a.id}`,
      headers: h,
      payload: { ...a, role_ids: [r2.num], display_name: "ignored" },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ role_ids: [r2.num], display_name: "team-0001" });
    expect((await nativeView(t, a.id)).bindings.map((x) => x.roleId)).toEqual([r2.id]);
    const inconsistent = await t.request({
      method: "PUT",
      url: `/rbac-api/v1/groups/${a.id}`,
      headers: h,
      payload: { ...a, id: b.id },
    });
    expect(inconsistent.statusCode).toBe(400);
    expect(inconsistent.json()).toMatchObject({
      kind: "inconsistent-id",
      details: { "url-id": a.id, "body-id": b.id },
    });

    const add = await post(tenant, "/rbac-api/v1/command/roles/add-groups", {
      role_id: r1.num,
      group_ids: [a.id, b.id],
    });
    expect(add.statusCode, add.body).toBe(204);
    const roles = async (id: string) =>
      (await t.request({ method: "GET", url: `/rbac-api/v1/groups/${id}`, headers: h })).json().role_ids;
    expect(await roles(a.id)).toEqual([r1.num, r2.num].sort((x, y) => x - y));
    expect(await roles(b.id)).toEqual([r1.num]);
    const remove = await post(tenant, "/rbac-api/v1/command/roles/remove-groups", {
      role_id: r1.num,
      group_ids: [b.id],
    });
    expect(remove.statusCode).toBe(204);
    expect(await roles(b.id)).toEqual([]);
    const unknown = await post(tenant, "/rbac-api/v1/command/roles/add-groups", {
      role_id: r1.num,
      group_ids: [b.id, "00000000-0000-4000-8000-000000000000"],
    });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().kind).toBe("invalid-associated-id");
    expect(await roles(b.id)).toEqual([]);

    // With the JSON content type scripts send on every call and no body, as Puppet accepts.
    const del = await t.request({
      method: "DELETE",
      url: `/rbac-api/v1/groups/${a.id}`,
      headers: { ...h, "content-type": "application/json" },
    });
    expect(del.statusCode, del.body).toBe(204);
    const gone = await t.request({ method: "GET", url: `/rbac-api/v1/groups/${a.id}`, headers: h });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().kind).toBe("not-found");
  });

  it("authenticates with X-Authentication: 401 user-unauthenticated without it, 403 permission-denied for a viewer", async () => {
    const tenant = await buildTenant(t, ldap);
    const none = await t.app.inject({ method: "GET", url: "/rbac-api/v1/groups", remoteAddress: "10.8.0.1" });
    expect(none.statusCode).toBe(401);
    expect(none.headers["www-authenticate"]).toContain("X-Authentication");
    expect(none.json().kind).toBe("user-unauthenticated");
    const bad = await t.app.inject({
      method: "GET",
      url: "/rbac-api/v1/groups",
      headers: { "x-authentication": "ghk_nope_nope" },
      remoteAddress: "10.8.0.2",
    });
    expect(bad.statusCode).toBe(401);
    const viewer = { "x-authentication": tenant.viewerKey };
    expect((await t.request({ method: "GET", url: "/rbac-api/v1/groups", headers: viewer })).statusCode).toBe(200);
    const denied = await post(tenant, "/rbac-api/v2/groups", { login: "engineering", role_ids: [] }, viewer);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().kind).toBe("permission-denied");
  });
});
