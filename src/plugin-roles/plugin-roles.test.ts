import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceAccountHeaders } from "../../test/support/credentials.ts";
import { buildDirectoryAdmin, uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { seedService } from "../decisions/test-seed.ts";

let t: TestApp;
let pluginAuth: Record<string, string>;
beforeAll(async () => {
  t = await testApp();
  // the plugin's own service account, as a Ranger plugin would be configured with (Basic auth)
  pluginAuth = await serviceAccountHeaders(t, ["directory-admin"]);
});
afterAll(async () => {
  await t.app.close();
});

const ROLE_REST = "/service/roles/roles";
const V2 = "/service/public/v2/api/roles";
type Seeded = Awaited<ReturnType<typeof seedService>>;
type Member = { name: string; isAdmin: boolean };
type RangerRole = { id: number; name: string; users: Member[]; groups: Member[]; roles: Member[] };

/** A request as the plugin sends it: its service account's credentials. */
function plugin(method: "GET" | "POST" | "PUT" | "DELETE", url: string, payload?: Record<string, unknown>) {
  return t.request({ method, url, headers: pluginAuth, ...(payload === undefined ? {} : { payload }) });
}

/** The role as plugins download it for `service`, or undefined. */
async function downloaded(service: string, name: string): Promise<RangerRole | undefined> {
  const res = await t.request({ method: "GET", url: `/service/roles/download/${service}` });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json().rangerRoles as RangerRole[]).find((r) => r.name === name);
}

async function allowed(s: Seeded, user: string): Promise<boolean> {
  const res = await t.request({
    method: "POST",
    url: "/v1/decisions",
    payload: {
      service: s.service,
      user,
      resource: { catalog: "sales", schema: s.schema, table: "t1" },
      accessType: "insert",
    },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().allowed as boolean;
}

/** A policy granting `insert` on sales.<schema>.* to `role` (and nobody else). */
async function policyForRole(s: Seeded, role: string) {
  const res = await t.request({
    method: "POST",
    url: `/v1/services/${s.service}/policies`,
    payload: {
      name: uniqueName("by-role"),
      resources: { catalog: { values: ["sales"] }, schema: { values: [s.schema] }, table: { values: ["*"] } },
      policyItems: [{ roles: [role], accesses: [{ type: "insert" }] }],
      policyPriority: 1,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
}

function grant(kind: "grant" | "revoke", s: Seeded, body: Record<string, unknown>, mount = ROLE_REST) {
  return plugin("PUT", `${mount}/${kind}/${s.service}`, {
    grantor: null,
    grantorGroups: [],
    users: [],
    groups: [],
    roles: [],
    grantOption: false,
    clientIPAddress: "10.0.0.7",
    clientType: "hiveServer2",
    requestData: "grant role",
    sessionId: "s-1",
    clusterName: "cl1",
    ...body,
  });
}

describe(`Ranger plugin role API (${TEST_BACKEND})`, () => {
  it("CREATE ROLE, SHOW ROLES, role details and DROP ROLE, each seen by the roles download", async () => {
    const s = await seedService(t);
    const admin = await buildDirectoryAdmin(t.db);
    const name = uniqueName("analyst-role");

    // the plugin's own URL: POST /service/public/v2/api/roles/?serviceName=..., createdByUser = the SQL user
    const created = await plugin("POST", `${V2}/?serviceName=${s.service}`, {
      name,
      description: "from hive",
      users: [{ name: s.alice, isAdmin: false }],
      groups: [],
      roles: [],
      createdByUser: admin,
      options: {},
    });
    expect(created.statusCode, created.body).toBe(200);
    const role = created.json() as RangerRole;
    expect(role).toMatchObject({ name, users: [{ name: s.alice, isAdmin: false }], groups: [], roles: [] });
    expect(await downloaded(s.service, name)).toMatchObject({ id: role.id, users: [{ name: s.alice }] });

    for (const url of [`${ROLE_REST}/names`, `${V2}/names/`]) {
      const names = await plugin("GET", `${url}?serviceName=${s.service}&execUser=${admin}`);
      expect(names.statusCode, names.body).toBe(200);
      expect(names.json()).toContain(name);
      expect(names.json()).toContain("gatehouse-admin");
    }

    const one = await plugin("GET", `${ROLE_REST}/name/${name}?serviceName=${s.service}&execUser=${admin}`);
    expect(one.statusCode, one.body).toBe(200);
    expect(one.json()).toMatchObject({ id: role.id, name, users: [{ name: s.alice, isAdmin: false }] });

    const mine = await plugin("GET", `${ROLE_REST}/user/${s.alice}`);
    expect(mine.statusCode, mine.body).toBe(200);
    expect(mine.json()).toContain(name);

    // the RoleREST mount creates too
    const second = uniqueName("second-role");
    const viaRoleRest = await plugin("POST", ROLE_REST, { name: second, createdByUser: admin });
    expect(viaRoleRest.statusCode, viaRoleRest.body).toBe(200);
    expect(await downloaded(s.service, second)).toMatchObject({ users: [], groups: [], roles: [] });

    const dropped = await plugin("DELETE", `${ROLE_REST}/name/${name}?serviceName=${s.service}&execUser=${admin}`);
    expect(dropped.statusCode, dropped.body).toBe(204);
    expect(await downloaded(s.service, name)).toBeUndefined();
    const again = await plugin("GET", `${ROLE_REST}/name/${name}?execUser=${admin}`);
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ statusCode: 1, code: "ROLE_NOT_FOUND" });
    expect(again.json().messageList[0]).toMatchObject({ rbKey: "path.name" });
  });

  it("GRANT ROLE lets a policy on the role decide for the user; REVOKE ROLE takes it back", async () => {
    const s = await seedService(t);
    const admin = await buildDirectoryAdmin(t.db);
    const name = uniqueName("writers");
    expect((await plugin("POST", ROLE_REST, { name, createdByUser: admin })).statusCode).toBe(200);
    await policyForRole(s, name);
    expect(await allowed(s, s.bob)).toBe(false);

    const granted = await grant("grant", s, { grantor: admin, targetRoles: [name], users: [s.bob] });
    expect(granted.statusCode, granted.body).toBe(200);
    expect(granted.json()).toMatchObject({ statusCode: 0 });
    expect(await allowed(s, s.bob)).toBe(true);
    expect((await downloaded(s.service, name))?.users).toEqual([{ name: s.bob, isAdmin: false }]);
    // granting again changes nothing
    expect((await grant("grant", s, { grantor: admin, targetRoles: [name], users: [s.bob] })).statusCode).toBe(200);
    expect((await downloaded(s.service, name))?.users).toEqual([{ name: s.bob, isAdmin: false }]);

    // a group, and a role whose holders then hold this one
    const parent = uniqueName("parent");
    expect((await plugin("POST", ROLE_REST, { name: parent, createdByUser: admin })).statusCode).toBe(200);
    const more = await grant("grant", s, {
      grantor: admin,
      targetRoles: [name],
      groups: [s.analysts],
      roles: [parent],
    });
    expect(more.statusCode, more.body).toBe(200);
    expect(await downloaded(s.service, name)).toMatchObject({
      groups: [{ name: s.analysts, isAdmin: false }],
      roles: [{ name: parent, isAdmin: false }],
    });
    expect(await allowed(s, s.alice)).toBe(true);

    const revoked = await grant("revoke", s, {
      grantor: admin,
      targetRoles: [name],
      users: [s.bob],
      groups: [s.analysts],
    });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(await allowed(s, s.bob)).toBe(false);
    expect(await allowed(s, s.alice)).toBe(false);
    expect(await downloaded(s.service, name)).toMatchObject({ users: [], groups: [], roles: [{ name: parent }] });

    // REVOKE ADMIN OPTION FOR: nobody holds it, nothing changes
    await grant("grant", s, { grantor: admin, targetRoles: [name], users: [s.bob] });
    const adminOption = await grant("revoke", s, {
      grantor: admin,
      targetRoles: [name],
      users: [s.bob],
      grantOption: true,
    });
    expect(adminOption.statusCode, adminOption.body).toBe(200);
    expect(await allowed(s, s.bob)).toBe(true);

    const audit = await t.request({ method: "GET", url: "/v1/audit/events?action=role.*&limit=50" });
    const mine = (audit.json().items as { action: string; after: Record<string, unknown> | null }[]).filter((e) =>
      (e.after?.targetRoles as string[] | undefined)?.includes(name),
    );
    expect(mine.map((e) => e.action)).toEqual([
      "role.revoked",
      "role.granted",
      "role.revoked",
      "role.granted",
      "role.granted",
      "role.granted",
    ]);
    expect(mine[0]?.after).toMatchObject({
      service: s.service,
      grantor: admin,
      users: [s.bob],
      grantOption: true,
      clientType: "hiveServer2",
    });
  });

  it("holds the SQL user to Ranger's execUser rule: an administrator, or the caller itself", async () => {
    const s = await seedService(t);
    const admin = await buildDirectoryAdmin(t.db);
    const name = uniqueName("guarded");

    // bob is no administrator: CREATE ROLE, DROP ROLE, SHOW ROLES, GRANT ROLE and role details are refused
    const create = await plugin("POST", `${V2}/?serviceName=${s.service}`, { name, createdByUser: s.bob });
    expect(create.statusCode, create.body).toBe(403);
    expect(create.json()).toMatchObject({ statusCode: 1, code: "FORBIDDEN" });
    expect(create.json().msgDesc).toContain(`\`${s.bob}\` does not have permission to create a role`);
    expect(create.json().messageList[0]).toMatchObject({ rbKey: "body.createdByUser", name: "effectiveUserIsAdmin" });
    expect(await downloaded(s.service, name)).toBeUndefined();

    expect((await plugin("POST", ROLE_REST, { name, createdByUser: admin })).statusCode).toBe(200);
    // both mounts, one implementation: the plugin's own v2 URLs are held to the rule as RoleREST's are
    for (const mount of [ROLE_REST, V2]) {
      const refusals = [
        await plugin("POST", `${mount}/?serviceName=${s.service}`, { name: uniqueName("r"), createdByUser: s.bob }),
        await plugin("DELETE", `${mount}/name/${name}?serviceName=${s.service}&execUser=${s.bob}`),
        await plugin("GET", `${mount}/names/?serviceName=${s.service}&execUser=${s.bob}`),
        await plugin("GET", `${mount}/name/${name}?execUser=${s.bob}`),
        await grant("grant", s, { grantor: s.bob, targetRoles: [name], users: [s.bob] }, mount),
        await grant("revoke", s, { grantor: uniqueName("nobody"), targetRoles: [name], users: [s.bob] }, mount),
      ];
      expect(
        refusals.map((r) => r.statusCode),
        mount,
      ).toEqual([403, 403, 403, 403, 403, 403]);
      expect(refusals.map((r) => r.json().messageList[0]?.rbKey)).toEqual([
        "body.createdByUser",
        "query.execUser",
        "query.execUser",
        "query.execUser",
        "body.grantor",
        "body.grantor",
      ]);
      expect(refusals[5]?.json().msgDesc).toContain("no active user of that name");
    }
    expect(await downloaded(s.service, name)).toMatchObject({ users: [] });

    // no execUser (or the caller's own name): the caller is the effective user
    const bare = await plugin("GET", `${ROLE_REST}/names`);
    expect(bare.statusCode, bare.body).toBe(200);

    // the caller's own ability comes first: a viewer cannot write, whoever it names
    const viewer = await serviceAccountHeaders(t, ["viewer"]);
    const byViewer = await t.request({
      method: "PUT",
      url: `${ROLE_REST}/grant/${s.service}`,
      headers: viewer,
      payload: { grantor: admin, targetRoles: [name], users: [s.bob] },
    });
    expect(byViewer.statusCode).toBe(403);
    expect(byViewer.json()).toMatchObject({ statusCode: 1, code: "FORBIDDEN" });
    const anonymous = await t.request({
      method: "POST",
      url: ROLE_REST,
      headers: { "authorization-psk": "" },
      payload: { name: uniqueName("anon"), createdByUser: admin },
    });
    expect(anonymous.statusCode).toBe(401);
  });

  it("answers bad bodies, unknown names and taken names with 4xx in Ranger's error body", async () => {
    const s = await seedService(t);
    const admin = await buildDirectoryAdmin(t.db);
    const name = uniqueName("checked");
    expect((await plugin("POST", ROLE_REST, { name, createdByUser: admin })).statusCode).toBe(200);

    const expectError = (res: Awaited<ReturnType<typeof plugin>>, status: number, field: string) => {
      expect(res.statusCode, res.body).toBe(status);
      const body = res.json();
      expect(body.statusCode).toBe(1);
      expect(JSON.stringify(body.messageList) + body.msgDesc).toContain(field);
    };

    expectError(await plugin("POST", ROLE_REST, { name, createdByUser: admin }), 409, name);
    expectError(await plugin("POST", ROLE_REST, { description: "no name" }), 400, "name");
    expectError(
      await plugin("POST", ROLE_REST, { name: uniqueName("r"), users: [{ name: "{USER}" }] }),
      400,
      "body.users[0]",
    );
    expectError(
      await plugin("POST", ROLE_REST, { name: uniqueName("r"), users: [{ name: uniqueName("ghost") }] }),
      422,
      "body.users[0].name",
    );
    expectError(
      await plugin("POST", ROLE_REST, { name: uniqueName("r"), users: [{ name: s.bob, isAdmin: true }] }),
      400,
      "body.users[0].isAdmin",
    );

    expectError(await grant("grant", s, { grantor: admin, targetRoles: [], users: [s.bob] }), 400, "targetRoles");
    expectError(await grant("grant", s, { grantor: admin, targetRoles: [name] }), 400, "body.users");
    expectError(
      await grant("grant", s, { grantor: admin, targetRoles: [name], users: [s.bob], grantOption: true }),
      400,
      "body.grantOption",
    );
    expectError(
      await grant("grant", s, { grantor: admin, targetRoles: [name], users: ["{OWNER}"] }),
      400,
      "body.users[0]",
    );
    expectError(
      await grant("grant", s, { grantor: admin, targetRoles: [uniqueName("none")], users: [s.bob] }),
      404,
      "body.targetRoles[0]",
    );
    expectError(
      await grant("grant", s, { grantor: admin, targetRoles: [name], users: [uniqueName("ghost")] }),
      422,
      "body.users[0]",
    );
    expectError(await grant("grant", s, { grantor: admin, targetRoles: [name], roles: [name] }), 409, "body.roles[0]");
    const notJson = await t.request({
      method: "PUT",
      url: `${ROLE_REST}/grant/${s.service}`,
      headers: { ...pluginAuth, "content-type": "application/json" },
      payload: "{not json",
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json().statusCode).toBe(1);

    // one bad target role leaves the others unchanged (one transaction)
    const partial = await grant("grant", s, {
      grantor: admin,
      targetRoles: [name, uniqueName("none")],
      users: [s.bob],
    });
    expect(partial.statusCode).toBe(404);
    expect((await downloaded(s.service, name))?.users).toEqual([]);

    expectError(await plugin("DELETE", `${ROLE_REST}/name/${uniqueName("none")}?execUser=${admin}`), 404, "path.name");
    expectError(await plugin("DELETE", `${ROLE_REST}/name/gatehouse-admin?execUser=${admin}`), 409, "gatehouse-admin");
    expectError(await plugin("GET", `${ROLE_REST}/user/${uniqueName("ghost")}`), 404, "not found");
  });

  it("lists every role route at both mounts in /openapi.json", async () => {
    const doc = (await t.request({ method: "GET", url: "/openapi.json" })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    for (const mount of [ROLE_REST, V2]) {
      const expected: [string, string][] = [
        [mount, "post"],
        [`${mount}/`, "post"],
        [mount, "get"],
        [`${mount}/{id}`, "get"],
        [`${mount}/{id}`, "put"],
        [`${mount}/{id}`, "delete"],
        [`${mount}/name/{name}`, "delete"],
        [`${mount}/names`, "get"],
        [`${mount}/names/`, "get"],
        [`${mount}/name/{name}`, "get"],
        [`${mount}/user/{user}`, "get"],
        [`${mount}/{id}/addUsersAndGroups`, "put"],
        [`${mount}/{id}/removeUsersAndGroups`, "put"],
        [`${mount}/{id}/removeAdminFromUsersAndGroups`, "put"],
        [`${mount}/grant/{serviceName}`, "put"],
        [`${mount}/revoke/{serviceName}`, "put"],
      ];
      for (const [path, method] of expected) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
  });
});
