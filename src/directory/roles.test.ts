import { beforeAll, describe, expect, it } from "vitest";
import { serviceAccountHeaders } from "../../test/support/credentials.ts";
import { createGroupVia, createUserVia } from "../../test/support/directory.ts";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});

async function createRole(payload: Record<string, unknown>) {
  const res = await t.request({ method: "POST", url: "/v1/roles", payload: { name: uniqueName("role"), ...payload } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; name: string };
}

async function builtin(name: string): Promise<string> {
  const res = await t.request({ method: "GET", url: `/v1/roles?builtin=true&prefix=${name}` });
  return res.json().items.find((r: { name: string }) => r.name === name).id;
}

describe(`roles and role bindings (${TEST_BACKEND})`, () => {
  it("refuses composite cycles and changes to built-in roles", async () => {
    const a = await createRole({ permissions: ["read"] });
    const b = await createRole({ composites: [a.id] });
    const c = await createRole({ composites: [b.id] });
    const cycle = await t.request({ method: "PATCH", url: `/v1/roles/${a.id}`, payload: { composites: [c.id] } });
    expect(cycle.statusCode).toBe(409);
    expect(cycle.json()).toMatchObject({
      code: "ROLE_COMPOSITE_CYCLE",
      details: [{ field: "body.composites[0]", rule: "acyclic" }],
    });
    const self = await t.request({ method: "PATCH", url: `/v1/roles/${a.id}`, payload: { composites: [a.id] } });
    expect(self.statusCode).toBe(409);
    const viewer = await builtin("viewer");
    const immutable = await t.request({ method: "PATCH", url: `/v1/roles/${viewer}`, payload: { permissions: ["*"] } });
    expect(immutable.statusCode).toBe(409);
    expect(immutable.json().code).toBe("ROLE_BUILTIN_IMMUTABLE");
    expect((await t.request({ method: "DELETE", url: `/v1/roles/${viewer}` })).statusCode).toBe(409);
    const shadow = await t.request({ method: "POST", url: "/v1/roles", payload: { name: "Viewer" } });
    expect(shadow.statusCode).toBe(409);
    expect(shadow.json()).toMatchObject({ code: "ROLE_NAME_TAKEN", meta: { existingId: viewer } });
  });

  it("resolves a user's effective roles through the group hierarchy and composites", async () => {
    const leaf = await createRole({ permissions: ["catalog.read"] });
    const bundle = await createRole({ composites: [leaf.id] });
    const parent = await createGroupVia(t);
    const child = await createGroupVia(t, { parentId: parent.id });
    const user = await createUserVia(t);
    await t.request({ method: "PUT", url: `/v1/groups/${child.id}/members/${user.id}` });
    const binding = await t.request({
      method: "POST",
      url: "/v1/role-bindings",
      payload: {
        roleId: bundle.id,
        principal: { type: "group", id: parent.id },
        scope: { type: "resource", value: "catalog=sales, schema=*" },
        allowAllObjects: true,
      },
    });
    expect(binding.statusCode, binding.body).toBe(201);
    expect(binding.json()).toMatchObject({
      scope: { type: "resource", value: "catalog=sales,schema=*" },
      allowAllObjects: true,
    });
    const dup = await t.request({
      method: "POST",
      url: "/v1/role-bindings",
      payload: {
        roleId: bundle.id,
        principal: { type: "group", id: parent.id },
        scope: { type: "resource", value: "catalog=sales,schema=*" },
      },
    });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: "ROLE_BINDING_EXISTS", meta: { existingId: binding.json().id } });

    const effective = await t.request({ method: "GET", url: `/v1/users/${user.id}/roles?effective=true` });
    expect(effective.json().total).toBe(2);
    const names = effective
      .json()
      .items.map((r: { roleName: string }) => r.roleName)
      .sort();
    expect(names).toEqual([bundle.name, leaf.name].sort());
    const viaComposite = effective.json().items.find((r: { roleId: string }) => r.roleId === leaf.id);
    expect(viaComposite.via).toEqual({ principal: { type: "group", id: parent.id }, roleId: bundle.id });
    expect((await t.request({ method: "GET", url: `/v1/users/${user.id}/roles?effective=false` })).json().total).toBe(
      0,
    );
  });

  it("validates scopes and references, naming the field", async () => {
    const role = await createRole({});
    const user = await createUserVia(t);
    const bad = await t.request({
      method: "POST",
      url: "/v1/role-bindings",
      payload: {
        roleId: role.id,
        principal: { type: "user", id: user.id },
        scope: { type: "resource", value: "catalog" },
      },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details[0]).toMatchObject({ field: "body.scope.value", rule: "selector" });
    const ghost = await t.request({
      method: "POST",
      url: "/v1/role-bindings",
      payload: { roleId: role.id, principal: { type: "group", id: user.id } },
    });
    expect(ghost.statusCode).toBe(422);
    expect(ghost.json().details[0]).toMatchObject({ field: "body.principal.id", rule: "exists" });
  });

  it("lets a user act with built-in roles bound to a group it belongs to through the hierarchy", async () => {
    const parent = await createGroupVia(t);
    const child = await createGroupVia(t, { parentId: parent.id });
    const user = await createUserVia(t);
    await t.request({ method: "PUT", url: `/v1/groups/${child.id}/members/${user.id}` });
    const key = await t.request({ method: "POST", url: "/v1/api-keys", payload: { userId: user.id, name: "test" } });
    const headers = { "authorization-psk": key.json().key as string };
    const before = await t.request({ method: "POST", url: "/v1/groups", headers, payload: { name: uniqueName() } });
    expect(before.statusCode).toBe(403);
    const admin = await builtin("directory-admin");
    await t.request({
      method: "POST",
      url: "/v1/role-bindings",
      payload: { roleId: admin, principal: { type: "group", id: parent.id } },
    });
    const after = await t.request({ method: "POST", url: "/v1/groups", headers, payload: { name: uniqueName() } });
    expect(after.statusCode, after.body).toBe(201);
    const owners = await t.request({ method: "GET", url: `/v1/groups/${after.json().id}/members` });
    expect(owners.json().items).toMatchObject([{ user: { id: user.id }, role: "owner" }]);
  });

  it("keeps role administrators on bindings and composite links, audited, naming bad fields", async () => {
    const target = await createRole({});
    const user = await createUserVia(t);
    const created = await t.request({
      method: "POST",
      url: "/v1/role-bindings",
      payload: { roleId: target.id, principal: { type: "user", id: user.id }, isAdmin: true },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.json()).toMatchObject({ isAdmin: true });
    const id = created.json().id as string;
    const cleared = await t.request({ method: "PATCH", url: `/v1/role-bindings/${id}`, payload: { isAdmin: false } });
    expect(cleared.statusCode, cleared.body).toBe(200);
    expect(cleared.json()).toMatchObject({ id, isAdmin: false });
    expect((await t.request({ method: "GET", url: `/v1/role-bindings/${id}` })).json().isAdmin).toBe(false);
    const events = await t.request({
      method: "GET",
      url: `/v1/audit/events?action=role_binding.updated&targetType=role_binding&targetId=${id}`,
    });
    expect(events.json().items).toHaveLength(1);
    expect(events.json().items[0]).toMatchObject({
      before: { isAdmin: true },
      after: { isAdmin: false },
    });
    const badBody = await t.request({ method: "PATCH", url: `/v1/role-bindings/${id}`, payload: { isAdmin: "yes" } });
    expect(badBody.statusCode).toBe(400);
    expect(badBody.json().details[0].field).toBe("body.isAdmin");

    // a composite link: the bundling role's direct members administer the bundled one
    const other = await createRole({});
    const bundle = await t.request({
      method: "POST",
      url: "/v1/roles",
      payload: { name: uniqueName("role"), composites: [target.id, other.id], administers: [target.id] },
    });
    expect(bundle.statusCode, bundle.body).toBe(201);
    expect(bundle.json()).toMatchObject({ administers: [target.id] });
    const bundleId = bundle.json().id as string;
    // a new composite list keeps the flag of a composite that stays
    const kept = await t.request({
      method: "PATCH",
      url: `/v1/roles/${bundleId}`,
      payload: { composites: [target.id] },
    });
    expect(kept.json()).toMatchObject({ composites: [target.id], administers: [target.id] });
    const dropped = await t.request({ method: "PATCH", url: `/v1/roles/${bundleId}`, payload: { administers: [] } });
    expect(dropped.json()).toMatchObject({ composites: [target.id], administers: [] });
    const notBundled = await t.request({
      method: "PATCH",
      url: `/v1/roles/${bundleId}`,
      payload: { administers: [other.id] },
    });
    expect(notBundled.statusCode).toBe(400);
    expect(notBundled.json().details[0]).toMatchObject({ field: "body.administers[0]", rule: "inComposites" });
    const listed = await t.request({ method: "GET", url: `/v1/roles?prefix=${bundle.json().name}` });
    expect(listed.json().items[0]).toMatchObject({ id: bundleId, administers: [] });
  });

  it("gives a viewer read access and 403 on writes", async () => {
    const headers = await serviceAccountHeaders(t, ["viewer"]);
    expect((await t.request({ method: "GET", url: "/v1/groups", headers })).statusCode).toBe(200);
    const write = await t.request({ method: "POST", url: "/v1/groups", headers, payload: { name: uniqueName() } });
    expect(write.statusCode).toBe(403);
  });
});
