import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceAccountHeaders } from "../../../test/support/credentials.ts";
import { buildDirectoryAdmin, uniqueName } from "../../../test/support/factories.ts";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../../test/support/test-db.ts";
import { seedService } from "../../decisions/test-seed.ts";

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
      await plugin("POST", ROLE_REST, { name: uniqueName("r"), users: [{ name: s.bob, isAdmin: "yes" }] }),
      400,
      "body.users[0].isAdmin",
    );

    expectError(await grant("grant", s, { grantor: admin, targetRoles: [], users: [s.bob] }), 400, "targetRoles");
    expectError(await grant("grant", s, { grantor: admin, targetRoles: [name] }), 400, "body.users");
    expectError(
      await grant("grant", s, { grantor: admin, targetRoles: [name], users: [s.bob], grantOption: "yes" }),
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

  it("GRANT ROLE WITH ADMIN OPTION lets the grantee grant and revoke the role; REVOKE ADMIN OPTION FOR keeps it a member", async () => {
    const s = await seedService(t);
    const admin = await buildDirectoryAdmin(t.db);
    const name = uniqueName("stewarded");
    const carol = (
      await t.request({ method: "POST", url: "/v1/users", payload: { username: uniqueName("carol") } })
    ).json().username as string;
    expect((await plugin("POST", ROLE_REST, { name, createdByUser: admin })).statusCode).toBe(200);
    await policyForRole(s, name);

    // GRANT name TO USER alice WITH ADMIN OPTION, by an administrator
    const withAdmin = await grant("grant", s, {
      grantor: admin,
      targetRoles: [name],
      users: [s.alice],
      grantOption: true,
    });
    expect(withAdmin.statusCode, withAdmin.body).toBe(200);
    expect((await downloaded(s.service, name))?.users).toEqual([{ name: s.alice, isAdmin: true }]);

    // alice holds no directory ability, but administers the role: through the plugin she grants it to carol
    const byAlice = await grant("grant", s, { grantor: s.alice, targetRoles: [name], users: [carol] }, V2);
    expect(byAlice.statusCode, byAlice.body).toBe(200);
    expect(await allowed(s, carol)).toBe(true);
    expect((await downloaded(s.service, name))?.users).toEqual(
      [
        { name: s.alice, isAdmin: true },
        { name: carol, isAdmin: false },
      ].sort((a, b) => (a.name < b.name ? -1 : 1)),
    );
    // and reads it (SHOW ROLE GRANT), which Ranger allows its administrators
    const details = await plugin("GET", `${ROLE_REST}/name/${name}?serviceName=${s.service}&execUser=${s.alice}`);
    expect(details.statusCode, details.body).toBe(200);

    // carol is a plain member: she may neither grant the role nor read its details
    const byCarol = await grant("grant", s, { grantor: carol, targetRoles: [name], users: [s.bob] });
    expect(byCarol.statusCode).toBe(403);
    expect(byCarol.json()).toMatchObject({ statusCode: 1, code: "FORBIDDEN" });
    expect(byCarol.json().messageList[0]).toMatchObject({ rbKey: "body.grantor", name: "effectiveUserIsAdmin" });
    expect(byCarol.json().msgDesc).toBe(
      `body.grantor: user \`${carol}\` does not have permission to grant role \`${name}\`: it holds no built-in role granting \`directory.write\`, and it is no administrator of role \`${name}\``,
    );
    const carolReads = await plugin("GET", `${ROLE_REST}/name/${name}?serviceName=${s.service}&execUser=${carol}`);
    expect(carolReads.statusCode).toBe(403);
    expect(carolReads.json().messageList[0]).toMatchObject({ rbKey: "query.execUser" });
    // administering one role is not administering another: one refusal leaves every target role unchanged
    const other = uniqueName("other");
    expect((await plugin("POST", ROLE_REST, { name: other, createdByUser: admin })).statusCode).toBe(200);
    const both = await grant("grant", s, { grantor: s.alice, targetRoles: [name, other], users: [s.bob] });
    expect(both.statusCode).toBe(403);
    expect(both.json().msgDesc).toContain(`grant role \`${other}\``);
    expect((await downloaded(s.service, name))?.users.map((u) => u.name)).not.toContain(s.bob);

    // alice revokes it from carol too
    const revoked = await grant("revoke", s, { grantor: s.alice, targetRoles: [name], users: [carol] });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(await allowed(s, carol)).toBe(false);

    // REVOKE ADMIN OPTION FOR name FROM USER alice: she stays a member, and may grant no more
    const adminOption = await grant("revoke", s, {
      grantor: admin,
      targetRoles: [name],
      users: [s.alice],
      grantOption: true,
    });
    expect(adminOption.statusCode, adminOption.body).toBe(200);
    expect((await downloaded(s.service, name))?.users).toEqual([{ name: s.alice, isAdmin: false }]);
    expect(await allowed(s, s.alice)).toBe(true);
    const refused = await grant("grant", s, { grantor: s.alice, targetRoles: [name], users: [carol] });
    expect(refused.statusCode).toBe(403);

    // a grant without the option makes a grantee already there a plain member (Ranger's add-or-update)
    await grant("grant", s, { grantor: admin, targetRoles: [name], users: [s.alice], grantOption: true });
    await grant("grant", s, { grantor: admin, targetRoles: [name], users: [s.alice] });
    expect((await downloaded(s.service, name))?.users).toEqual([{ name: s.alice, isAdmin: false }]);

    // the flag is the binding's, seen and audited by the native API
    const role = (await t.request({ method: "GET", url: `/v1/roles?prefix=${name}` })).json().items[0];
    const bindings = await t.request({ method: "GET", url: `/v1/role-bindings?roleId=${role.id}` });
    expect(bindings.json().items).toMatchObject([{ principal: { type: "user", id: s.aliceId }, isAdmin: false }]);
    const updates = await t.request({
      method: "GET",
      url: `/v1/audit/events?action=role_binding.updated&targetId=${bindings.json().items[0].id}`,
    });
    expect(updates.json().items.map((e: { after: { isAdmin: boolean } }) => e.after.isAdmin)).toEqual([
      false,
      true,
      false,
    ]);
  });

  it("admits administrators through an admin group and an admin member role, as Ranger's ensureRoleAccess", async () => {
    const s = await seedService(t);
    const admin = await buildDirectoryAdmin(t.db);
    const target = uniqueName("target");
    const dave = (
      await t.request({ method: "POST", url: "/v1/users", payload: { username: uniqueName("dave") } })
    ).json().username as string;
    const erin = (
      await t.request({ method: "POST", url: "/v1/users", payload: { username: uniqueName("erin") } })
    ).json().username as string;
    expect((await plugin("POST", ROLE_REST, { name: target, createdByUser: admin })).statusCode).toBe(200);
    const grantAs = (grantor: string) => grant("grant", s, { grantor, targetRoles: [target], users: [s.bob] });

    // a group member: alice is in analysts; a plain group member gives nothing, an admin one does
    expect((await grant("grant", s, { grantor: admin, targetRoles: [target], groups: [s.analysts] })).statusCode).toBe(
      200,
    );
    expect((await grantAs(s.alice)).statusCode).toBe(403);
    expect(
      (await grant("grant", s, { grantor: admin, targetRoles: [target], groups: [s.analysts], grantOption: true }))
        .statusCode,
    ).toBe(200);
    expect((await downloaded(s.service, target))?.groups).toEqual([{ name: s.analysts, isAdmin: true }]);
    expect((await grantAs(s.alice)).statusCode).toBe(200);
    // as everywhere in the directory, a member of a subgroup belongs to the group
    const sub = await t.request({
      method: "POST",
      url: "/v1/groups",
      payload: { name: uniqueName("sub"), parentId: s.groupId },
    });
    expect(sub.statusCode, sub.body).toBe(201);
    const frank = (
      await t.request({ method: "POST", url: "/v1/users", payload: { username: uniqueName("frank") } })
    ).json();
    expect(
      (await t.request({ method: "PUT", url: `/v1/groups/${sub.json().id}/members/${frank.id}` })).statusCode,
    ).toBe(201);
    expect((await grantAs(frank.username)).statusCode).toBe(200);

    // a member role: dave is a user of `stewards`; stewards as an admin member role of target admits dave
    const stewards = uniqueName("stewards");
    const created = await plugin("POST", ROLE_REST, {
      name: stewards,
      users: [{ name: dave, isAdmin: false }],
      createdByUser: admin,
    });
    expect(created.statusCode, created.body).toBe(200);
    expect((await grant("grant", s, { grantor: admin, targetRoles: [target], roles: [stewards] })).statusCode).toBe(
      200,
    );
    expect((await grantAs(dave)).statusCode).toBe(403);
    expect(
      (await grant("grant", s, { grantor: admin, targetRoles: [target], roles: [stewards], grantOption: true }))
        .statusCode,
    ).toBe(200);
    expect((await downloaded(s.service, target))?.roles).toEqual([{ name: stewards, isAdmin: true }]);
    expect((await grantAs(dave)).statusCode).toBe(200);

    // Ranger walks member roles transitively, each with its own flag: erin's role is an admin member
    // of stewards, so erin administers target once stewards is a plain member role of it
    const deputies = uniqueName("deputies");
    expect(
      (await plugin("POST", ROLE_REST, { name: deputies, users: [{ name: erin }], createdByUser: admin })).statusCode,
    ).toBe(200);
    expect(
      (await grant("grant", s, { grantor: admin, targetRoles: [stewards], roles: [deputies], grantOption: true }))
        .statusCode,
    ).toBe(200);
    expect(
      (await grant("revoke", s, { grantor: admin, targetRoles: [target], roles: [stewards], grantOption: true }))
        .statusCode,
    ).toBe(200);
    expect((await downloaded(s.service, target))?.roles).toEqual([{ name: stewards, isAdmin: false }]);
    expect((await grantAs(dave)).statusCode).toBe(403);
    expect((await grantAs(erin)).statusCode).toBe(200);
  });

  it("round-trips isAdmin through v2 create, reads, replace and the roles download", async () => {
    const s = await seedService(t);
    const parent = uniqueName("parent");
    expect((await plugin("POST", V2, { name: parent })).statusCode).toBe(200);
    const name = uniqueName("flagged");
    const created = await plugin("POST", V2, {
      name,
      users: [
        { name: s.alice, isAdmin: true },
        { name: s.bob, isAdmin: null },
      ],
      groups: [{ name: s.analysts, isAdmin: true }],
      roles: [{ name: parent, isAdmin: true }],
    });
    expect(created.statusCode, created.body).toBe(200);
    const flagged = {
      users: [
        { name: s.alice, isAdmin: true },
        { name: s.bob, isAdmin: false },
      ].sort((a, b) => (a.name < b.name ? -1 : 1)),
      groups: [{ name: s.analysts, isAdmin: true }],
      roles: [{ name: parent, isAdmin: true }],
    };
    const role = created.json() as RangerRole;
    expect(role).toMatchObject({ name, ...flagged });
    expect((await plugin("GET", `${V2}/${role.id}`)).json()).toMatchObject(flagged);
    expect((await plugin("GET", `${V2}/name/${name}`)).json()).toMatchObject(flagged);
    expect((await plugin("GET", V2)).json().find((r: RangerRole) => r.id === role.id)).toMatchObject(flagged);
    expect(await downloaded(s.service, name)).toMatchObject(flagged);

    // what a client reads it can write back unchanged; then a replace clears the flags
    expect((await plugin("PUT", `${V2}/${role.id}`, role)).json()).toEqual(role);
    const cleared = await plugin("PUT", `${ROLE_REST}/${role.id}`, {
      ...role,
      users: role.users.map((u) => ({ ...u, isAdmin: false })),
      groups: [{ name: s.analysts }],
      roles: [{ name: parent, isAdmin: false }],
    });
    expect(cleared.statusCode, cleared.body).toBe(200);
    const plain = await downloaded(s.service, name);
    expect([...(plain?.users ?? []), ...(plain?.groups ?? []), ...(plain?.roles ?? [])].map((m) => m.isAdmin)).toEqual([
      false,
      false,
      false,
      false,
    ]);
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
