import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceAccountHeaders } from "../../test/support/credentials.ts";
import { buildUser, uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";

let t: TestApp;
let directoryAdmin: Record<string, string>;
const roleId = async (name: string) =>
  (
    await t.db.kysely
      .selectFrom("roles")
      .where("name", "=", name)
      .where("builtin", "=", true)
      .select("id")
      .executeTakeFirstOrThrow()
  ).id;

beforeAll(async () => {
  t = await testApp();
  directoryAdmin = await serviceAccountHeaders(t, ["directory-admin"]);
});
afterAll(() => t.app.close());

describe("granting roles never exceeds the caller's own permissions", () => {
  it("refuses a directory-admin binding gatehouse-admin, naming the role and the missing permission", async () => {
    const user = await buildUser(t.db);
    const res = await t.request({
      method: "POST",
      url: "/v1/role-bindings",
      headers: directoryAdmin,
      payload: { roleId: await roleId("gatehouse-admin"), principal: { type: "user", id: user.id } },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toMatch(/body.roleId: granting built-in role `gatehouse-admin`.*lacks \*/);
    const bindings = await t.db.kysely
      .selectFrom("role_bindings")
      .where("principal_id", "=", user.id)
      .select("id")
      .execute();
    expect(bindings).toEqual([]);
  });

  it("lets a directory-admin bind a built-in role within its own permissions", async () => {
    const user = await buildUser(t.db);
    const res = await t.request({
      method: "POST",
      url: "/v1/role-bindings",
      headers: directoryAdmin,
      payload: { roleId: await roleId("viewer"), principal: { type: "user", id: user.id } },
    });
    expect(res.statusCode).toBe(201);
  });

  it("refuses a custom composite role that bundles a built-in role beyond the caller's", async () => {
    const res = await t.request({
      method: "POST",
      url: "/v1/roles",
      headers: directoryAdmin,
      payload: { name: uniqueName("bundle"), composites: [await roleId("policy-admin")] },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toMatch(/body.composites: granting built-in role `policy-admin`.*lacks policy.write/);
  });

  it("lets the general PSK bind any role", async () => {
    const user = await buildUser(t.db);
    const res = await t.request({
      method: "POST",
      url: "/v1/role-bindings",
      payload: { roleId: await roleId("gatehouse-admin"), principal: { type: "user", id: user.id } },
    });
    expect(res.statusCode).toBe(201);
  });
});
