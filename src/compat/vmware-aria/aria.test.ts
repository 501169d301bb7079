import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUserVia } from "../../../test/support/directory.ts";
import { DATA_TEAM_DN, startTestLdap, type TestLdap } from "../../../test/support/ldap.ts";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../../test/support/test-db.ts";
import { buildRole, buildTenant, nativeView, type Tenant } from "../shared/tenant.test-support.ts";
import { ariaMessage } from "./errors.ts";

let t: TestApp;
let ldap: TestLdap;

beforeAll(async () => {
  [t, ldap] = await Promise.all([testApp(), startTestLdap()]);
}, 60_000);
afterAll(async () => {
  await ldap?.stop();
  await t?.app.close();
});

const URL = "/suite-api/api/auth/usergroups";
const ops = (tenant: Tenant) => ({ authorization: `OpsToken ${tenant.adminKey}`, accept: "application/json" });

async function post(tenant: Tenant, payload: Record<string, unknown>, url = URL) {
  return t.request({ method: "POST", url, headers: ops(tenant), payload });
}

describe(`VMware Aria user groups against a real slapd (${TEST_BACKEND})`, () => {
  it("answers the seed's minimal create with 201 and the user-group shape", async () => {
    const tenant = await buildTenant(t, ldap);
    const res = await post(tenant, { name: "string" });
    expect(res.statusCode, res.body).toBe(201);
    const group = res.json();
    expect(Object.keys(group).sort()).toEqual(
      [
        "authSourceId",
        "description",
        "displayName",
        "id",
        "links",
        "name",
        "role-permissions",
        "roleNames",
        "userIds",
      ].sort(),
    );
    expect(group).toMatchObject({ name: "string", displayName: "string", authSourceId: null, "role-permissions": [] });
    // Aria has no group owners: the caller (a user's API key) is not added, userIds is what was sent.
    expect(group.userIds).toEqual([]);
    const native = await nativeView(t, group.id);
    expect(native.group).toMatchObject({ name: "string", source: "local" });
    expect(native.members).toEqual([]);
  });

  it("imports an LDAP group by DN with the seed's full body: members from the directory, role-permissions as scoped bindings", async () => {
    const tenant = await buildTenant(t, ldap);
    const [reader, writer] = [await buildRole(t, tenant.orgId), await buildRole(t, tenant.orgId)];
    const local = await createUserVia(t, { orgId: tenant.orgId });
    const res = await post(tenant, {
      authSourceId: tenant.sourceId,
      name: DATA_TEAM_DN,
      description: "imported",
      links: [],
      userIds: [local.id],
      "role-permissions": [
        {
          roleName: reader.name,
          scopeId: "service:hive",
          allowAllObjects: true,
          "traversal-spec-instances": [],
          links: [],
        },
        { roleName: writer.name, scopeId: "resource:catalog=sales,schema=*", allowAllObjects: false },
      ],
      roleNames: ["ignored-when-role-permissions-given"],
    });
    expect(res.statusCode, res.body).toBe(201);
    const group = res.json();
    expect(group).toMatchObject({
      name: DATA_TEAM_DN,
      displayName: DATA_TEAM_DN,
      authSourceId: tenant.sourceId,
      description: "imported",
    });
    expect(group["role-permissions"]).toEqual(
      expect.arrayContaining([
        { roleName: reader.name, scopeId: "service:hive", allowAllObjects: true, "traversal-spec-instances": [] },
        {
          roleName: writer.name,
          scopeId: "resource:catalog=sales,schema=*",
          allowAllObjects: false,
          "traversal-spec-instances": [],
        },
      ]),
    );
    const native = await nativeView(t, group.id);
    expect(native.group).toMatchObject({ source: "ldap", externalId: DATA_TEAM_DN, identitySourceId: tenant.sourceId });
    expect(native.members.map((m) => m.user.username).sort()).toEqual([local.username, "user0001", "user0002"].sort());
    expect(native.members.every((m) => m.role === "member")).toBe(true);
    expect(native.bindings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          roleId: reader.id,
          scope: { type: "service", value: "hive" },
          allowAllObjects: true,
        }),
        expect.objectContaining({ roleId: writer.id, scope: { type: "resource", value: "catalog=sales,schema=*" } }),
      ]),
    );
    expect(group.userIds.sort()).toEqual(native.members.map((m) => m.user.id).sort());
  });

  it("refuses an unknown DN with 422 naming it instead of creating an orphan; nothing is written", async () => {
    const tenant = await buildTenant(t, ldap);
    const ghost = `cn=ghost,ou=groups,${ldap.baseDn}`;
    for (const name of [ghost, "Data Team"]) {
      const res = await post(tenant, { authSourceId: tenant.sourceId, name, displayName: "Ghost" });
      expect(res.statusCode, res.body).toBe(422);
      expect(res.json()).toMatchObject({
        httpStatusCode: 422,
        apiErrorCode: 422,
        validationFailures: [{ violationPath: "name" }],
      });
      expect(res.json().message).toContain(name);
    }
    const list = await t.request({ method: "GET", url: URL, headers: ops(tenant) });
    expect(list.json().userGroups).toEqual([]);
    const source = await post(tenant, { authSourceId: "00000000-0000-4000-8000-000000000000", name: DATA_TEAM_DN });
    expect(source.statusCode).toBe(422);
    expect(source.json().validationFailures).toEqual([expect.objectContaining({ violationPath: "authSourceId" })]);
  });

  it("validates the body in Aria's error shape", async () => {
    const tenant = await buildTenant(t, ldap);
    const cases: [Record<string, unknown>, number, string][] = [
      [{ id: "00000000-0000-4000-8000-000000000000", name: "x" }, 400, "id"],
      [{}, 400, "name"],
      [{ name: "x", "role-permissions": [{ roleName: "nope" }] }, 422, "role-permissions[0].roleName"],
      [
        { name: "x", "role-permissions": [{ roleName: "viewer", scopeId: "galaxy" }] },
        400,
        "role-permissions[0].scopeId",
      ],
      [
        {
          name: "x",
          "role-permissions": [{ roleName: "viewer", "traversal-spec-instances": [{ adapterKind: "VMWARE" }] }],
        },
        400,
        "role-permissions[0].traversal-spec-instances",
      ],
      [{ name: "x", userIds: ["00000000-0000-4000-8000-000000000000"] }, 422, "userIds[0]"],
    ];
    for (const [payload, status, path] of cases) {
      const res = await post(tenant, payload);
      expect(res.statusCode, `${JSON.stringify(payload)} ${res.body}`).toBe(status);
      expect(res.json().httpStatusCode).toBe(status);
      expect(res.json().validationFailures.map((v: { violationPath: string }) => v.violationPath)).toContain(path);
    }
    expect((await t.request({ method: "GET", url: `${URL}?name=x`, headers: ops(tenant) })).json().userGroups).toEqual(
      [],
    );
    // The seed's full example with its "string" placeholders: each bad field reported once, by Aria's path.
    const placeholders = await post(tenant, {
      authSourceId: "string",
      id: "string",
      name: "string",
      userIds: ["string"],
    });
    expect(placeholders.statusCode).toBe(400);
    expect(
      placeholders
        .json()
        .validationFailures.map((v: { violationPath: string }) => v.violationPath)
        .sort(),
    ).toEqual(["authSourceId", "id", "userIds[0]"].sort());
  });

  it("lists with id and name filters, gets, modifies with the full body, deletes", async () => {
    const tenant = await buildTenant(t, ldap);
    const role = await buildRole(t, tenant.orgId);
    const a = (await post(tenant, { name: "alpha", roleNames: [role.name] })).json();
    const b = (await post(tenant, { name: "beta" })).json();
    expect(a["role-permissions"]).toEqual([
      { roleName: role.name, scopeId: "org", allowAllObjects: false, "traversal-spec-instances": [] },
    ]);
    const h = ops(tenant);
    const all = await t.request({ method: "GET", url: URL, headers: h });
    expect(all.json().userGroups.map((g: { name: string }) => g.name)).toEqual(["alpha", "beta"]);
    const byName = await t.request({ method: "GET", url: `${URL}?name=BETA`, headers: h });
    expect(byName.json().userGroups.map((g: { id: string }) => g.id)).toEqual([b.id]);
    const byIds = await t.request({ method: "GET", url: `${URL}?id=${a.id}&id=${b.id}`, headers: h });
    expect(byIds.json().userGroups).toHaveLength(2);
    const one = await t.request({ method: "GET", url: `${URL}/${a.id}`, headers: h });
    expect(one.json()).toEqual(a);

    const member = await createUserVia(t, { orgId: tenant.orgId });
    const put = await t.request({
      method: "PUT",
      url: URL,
      headers: h,
      payload: {
        ...a,
        name: "alpha-2",
        displayName: "Alpha",
        userIds: [tenant.adminId, member.id],
        "role-permissions": [{ roleName: role.name, scopeId: "service:trino", allowAllObjects: true }],
      },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ name: "alpha-2", displayName: "Alpha" });
    expect(put.json().userIds.sort()).toEqual([tenant.adminId, member.id].sort());
    // userIds is the exact membership: the creator can be dropped like anyone (no hidden owner).
    expect(put.json()["role-permissions"]).toEqual([
      { roleName: role.name, scopeId: "service:trino", allowAllObjects: true, "traversal-spec-instances": [] },
    ]);
    // the list presents its groups in one batch of reads: each entry as the group's own GET shows it
    const listed = (await t.request({ method: "GET", url: URL, headers: h })).json().userGroups;
    for (const g of listed as { id: string; userIds: string[] }[]) {
      const own = (await t.request({ method: "GET", url: `${URL}/${g.id}`, headers: h })).json();
      expect({ ...g, userIds: [...g.userIds].sort() }).toEqual({
        ...own,
        userIds: [...own.userIds].sort(),
      });
    }
    expect(listed.find((g: { id: string }) => g.id === a.id).userIds).toHaveLength(2);
    const shrink = await t.request({
      method: "PUT",
      url: URL,
      headers: h,
      payload: { id: a.id, name: "alpha-2", userIds: [member.id] },
    });
    expect(shrink.statusCode, shrink.body).toBe(200);
    expect(shrink.json().userIds).toEqual([member.id]);
    const emptied = await t.request({
      method: "PUT",
      url: URL,
      headers: h,
      payload: { id: a.id, name: "alpha-2", userIds: [] },
    });
    expect(emptied.json().userIds).toEqual([]);
    // A group made natively by a user has that user as owner; Aria's PUT cannot drop the last one
    // and says so on `userIds`.
    const owned = await t.request({
      method: "POST",
      url: "/v1/groups",
      headers: { "authorization-psk": tenant.adminKey },
      payload: { name: "owned" },
    });
    expect(owned.statusCode, owned.body).toBe(201);
    const orphaning = await t.request({
      method: "PUT",
      url: URL,
      headers: h,
      payload: { id: owned.json().id, name: "owned", userIds: [] },
    });
    expect(orphaning.statusCode).toBe(409);
    expect(orphaning.json().validationFailures).toEqual([
      expect.objectContaining({ violationPath: "userIds", failureMessage: expect.stringContaining("owner") }),
    ]);
    const moved = await t.request({
      method: "PUT",
      url: URL,
      headers: h,
      payload: { id: a.id, name: "alpha-2", authSourceId: tenant.sourceId },
    });
    expect(moved.statusCode).toBe(400);
    expect(moved.json().validationFailures[0].violationPath).toBe("authSourceId");
    const missing = await t.request({
      method: "PUT",
      url: URL,
      headers: h,
      payload: { id: "00000000-0000-4000-8000-000000000000", name: "z" },
    });
    expect(missing.statusCode).toBe(404);

    // With the JSON content type scripts send on every call and no body, as Aria accepts.
    const del = await t.request({
      method: "DELETE",
      url: `${URL}/${a.id}`,
      headers: { ...h, "content-type": "application/json" },
    });
    expect(del.statusCode, del.body).toBe(204);
    const gone = await t.request({ method: "GET", url: `${URL}/${a.id}`, headers: h });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ httpStatusCode: 404, apiErrorCode: 404 });
  });

  it("searches an auth source's groups with wildcards and lists sources, roles and scopes", async () => {
    const tenant = await buildTenant(t, ldap);
    const h = ops(tenant);
    const search = await post(
      tenant,
      { name: "Data*" },
      `/suite-api/api/auth/sources/${tenant.sourceId}/usergroups/search`,
    );
    expect(search.statusCode, search.body).toBe(200);
    expect(search.json().userGroups).toEqual([{ name: "Data Team", distinguishedName: DATA_TEAM_DN, description: "" }]);
    const teams = await post(
      tenant,
      { name: "team-000*" },
      `/suite-api/api/auth/sources/${tenant.sourceId}/usergroups/search`,
    );
    expect(teams.json().userGroups).toHaveLength(9);
    const unknown = await post(
      tenant,
      { name: "x" },
      "/suite-api/api/auth/sources/00000000-0000-4000-8000-000000000000/usergroups/search",
    );
    expect(unknown.statusCode).toBe(404);

    const sources = await t.request({ method: "GET", url: "/suite-api/api/auth/sources", headers: h });
    expect(sources.json().sources).toEqual([
      expect.objectContaining({ id: tenant.sourceId, sourceType: expect.objectContaining({ id: "OPEN_LDAP" }) }),
    ]);
    expect(sources.body).not.toContain(ldap.bindPassword);

    const role = await buildRole(t, tenant.orgId);
    const roles = await t.request({ method: "GET", url: "/suite-api/api/auth/roles", headers: h });
    expect(roles.json().userRoles.map((r: { name: string }) => r.name)).toEqual(
      expect.arrayContaining(["viewer", role.name]),
    );
    const viewerRole = await t.request({ method: "GET", url: "/suite-api/api/auth/roles/Viewer", headers: h });
    expect(viewerRole.json()).toMatchObject({
      name: "viewer",
      "system-created": true,
      "privilege-keys": expect.arrayContaining(["directory.read"]),
    });
    expect((await t.request({ method: "GET", url: "/suite-api/api/auth/roles/nope", headers: h })).statusCode).toBe(
      404,
    );

    await post(tenant, { name: "scoped", "role-permissions": [{ roleName: role.name, scopeId: "service:hive" }] });
    const scopes = await t.request({ method: "GET", url: "/suite-api/api/auth/scopes", headers: h });
    expect(scopes.json().scopes.map((s: { id: string }) => s.id)).toEqual(["org", "service:hive"]);
    const scope = await t.request({ method: "GET", url: "/suite-api/api/auth/scopes/service:hive", headers: h });
    expect(scope.json()).toMatchObject({ id: "service:hive", name: "hive" });
    expect(
      (await t.request({ method: "GET", url: "/suite-api/api/auth/scopes/service:none", headers: h })).statusCode,
    ).toBe(404);
  });

  it("authenticates with OpsToken and vRealizeOpsToken; 401 and 403 in Aria's shape", async () => {
    const tenant = await buildTenant(t, ldap);
    const legacy = await t.request({
      method: "GET",
      url: URL,
      headers: { authorization: `vRealizeOpsToken ${tenant.adminKey}` },
    });
    expect(legacy.statusCode).toBe(200);
    const none = await t.app.inject({ method: "GET", url: URL, remoteAddress: "10.6.0.1" });
    expect(none.statusCode).toBe(401);
    expect(none.headers["www-authenticate"]).toContain("OpsToken");
    expect(none.json()).toMatchObject({ httpStatusCode: 401, apiErrorCode: 401 });
    const bad = await t.app.inject({
      method: "GET",
      url: URL,
      headers: { authorization: "OpsToken ghk_nope_nope" },
      remoteAddress: "10.6.0.2",
    });
    expect(bad.statusCode).toBe(401);
    const viewer = { authorization: `OpsToken ${tenant.viewerKey}` };
    expect((await t.request({ method: "GET", url: URL, headers: viewer })).statusCode).toBe(200);
    const denied = await t.request({ method: "POST", url: URL, headers: viewer, payload: { name: "nope" } });
    expect(denied.statusCode).toBe(403);
    expect(denied.json()).toMatchObject({ httpStatusCode: 403, apiErrorCode: 403 });
  });
});

describe("Aria error messages", () => {
  it("name fields by Aria's paths, as violationPath does", () => {
    expect(ariaMessage("body.role-permissions[0].roleName: role `x` does not exist")).toBe(
      "role-permissions[0].roleName: role `x` does not exist",
    );
    expect(ariaMessage("body.externalId: group `cn=x` not found")).toBe("name: group `cn=x` not found");
    expect(ariaMessage("body.add[2]: user `u` not found; body.name: is required")).toBe(
      "userIds[2]: user `u` not found; name: is required",
    );
  });
});
