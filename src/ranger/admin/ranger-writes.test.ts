import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bindBuiltinRole,
  buildDirectoryAdmin,
  buildOrg,
  buildUser,
  uniqueName,
} from "../../../test/support/factories.ts";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../../test/support/test-db.ts";

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
});

const V2 = "/service/public/v2/api";

async function send(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", url: string, payload?: unknown) {
  return t.request({ method, url, ...(payload === undefined ? {} : { payload: payload as object }) });
}

async function ok(method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", url: string, payload?: unknown) {
  const res = await send(method, url, payload);
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res.statusCode === 204 ? null : res.json();
}

/** Ranger's error body, with the field and rule of its first message. */
function expectVx(res: { statusCode: number; json(): unknown }, status: number, field?: string, rule?: string) {
  expect(res.statusCode).toBe(status);
  const body = res.json() as { statusCode: number; msgDesc: string; messageList: { name: string; rbKey: string }[] };
  expect(body.statusCode).toBe(1);
  if (field) {
    expect(body.msgDesc).toContain(field);
    expect(body.messageList[0]).toMatchObject({ rbKey: field, ...(rule ? { name: rule } : {}) });
  }
}

async function newUser() {
  return (await ok("POST", "/v1/users", { username: uniqueName("u") })) as { id: string; username: string };
}

async function newGroup(...memberIds: string[]) {
  const group = (await ok("POST", "/v1/groups", { name: uniqueName("g") })) as { id: string; name: string };
  for (const id of memberIds) await ok("PUT", `/v1/groups/${group.id}/members/${id}`);
  return group;
}

async function newHive() {
  return ((await ok("POST", "/v1/services", { name: uniqueName("hive"), type: "hive" })) as { name: string }).name;
}

interface RangerRoleJson {
  id: number;
  name: string;
  description?: string;
  users: { name: string; isAdmin: boolean }[];
  groups: { name: string; isAdmin: boolean }[];
  roles: { name: string; isAdmin: boolean }[];
}

const names = (members: { name: string }[]) => members.map((m) => m.name).sort();

/** The role as the plugins download it for `service`. */
async function downloaded(service: string, role: string) {
  const roles = (await ok("GET", `/service/roles/download/${service}`)) as { rangerRoles: RangerRoleJson[] };
  return roles.rangerRoles.find((r) => r.name === role);
}

async function allowed(service: string, user: string, table: string) {
  const res = await send("POST", "/v1/decisions", {
    service,
    user,
    resource: { database: "sales", table, column: "amount" },
    accessType: "select",
  });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json() as { allowed: boolean }).allowed;
}

describe(`Ranger public REST API v2 writes (${TEST_BACKEND})`, () => {
  it("creates, replaces and deletes roles, seen by the v2 reads, the plugins' download and decisions", async () => {
    const service = await newHive();
    const alice = await newUser();
    const bob = await newUser();
    const eng = await newGroup(bob.id);
    const roleName = uniqueName("analysts");
    const table = uniqueName("orders");

    // a policy granting to the role before the role exists (as Ranger allows for roles named later)
    const policy = await send("POST", `${V2}/policy`, {
      service,
      name: uniqueName("p"),
      resources: { database: { values: ["sales"] }, table: { values: [table] }, column: { values: ["*"] } },
      policyItems: [{ roles: [roleName], accesses: [{ type: "select", isAllowed: true }] }],
    });
    expect(policy.statusCode, policy.body).toBe(200);

    const created = (await ok("POST", `${V2}/roles?serviceName=${service}`, {
      name: roleName,
      description: "reads orders",
      users: [{ name: alice.username, isAdmin: false }],
      groups: [],
    })) as RangerRoleJson;
    expect(created).toMatchObject({ name: roleName, description: "reads orders", users: [{ name: alice.username }] });
    expect(await ok("GET", `${V2}/roles/${created.id}`)).toEqual(created);
    expect(await ok("GET", `${V2}/roles/name/${roleName}`)).toEqual(created);
    expect((await downloaded(service, roleName))?.users).toEqual([{ name: alice.username, isAdmin: false }]);
    expect(await allowed(service, alice.username, table)).toBe(true);
    expect(await allowed(service, bob.username, table)).toBe(false);

    // the same name again (any case): 409 in Ranger's error body
    expectVx(await send("POST", `${V2}/roles`, { name: roleName.toUpperCase() }), 409, "body.name", "unique");

    // PUT replaces: alice out, group eng (bob) in, a new name
    const renamed = `${roleName}-v2`;
    const replaced = (await ok("PUT", `${V2}/roles/${created.id}`, {
      ...created,
      name: renamed,
      users: [],
      groups: [{ name: eng.name, isAdmin: false }],
    })) as RangerRoleJson;
    expect(replaced).toMatchObject({ id: created.id, name: renamed, users: [], groups: [{ name: eng.name }] });
    expect((await downloaded(service, renamed))?.groups).toEqual([{ name: eng.name, isAdmin: false }]);
    expect(await downloaded(service, roleName)).toBeUndefined();
    expect((await ok("GET", `${V2}/roles/user/${bob.username}`)) as string[]).toContain(renamed);
    expectVx(await send("PUT", `${V2}/roles/${created.id}`, { ...replaced, id: created.id + 1000 }), 400, "body.id");
    expectVx(await send("PUT", `${V2}/roles/999999`, { name: uniqueName("r") }), 404);

    // the native view shows the same bindings, audited
    const bindings = (await ok("GET", `/v1/role-bindings?roleId=${(await nativeRole(renamed)).id}`)) as {
      items: { principal: { type: string; id: string } }[];
    };
    expect(bindings.items.map((b) => b.principal)).toEqual([{ type: "group", id: eng.id }]);

    expect((await send("DELETE", `${V2}/roles/${created.id}`)).statusCode).toBe(204);
    expectVx(await send("GET", `${V2}/roles/${created.id}`), 404);
    expectVx(await send("DELETE", `${V2}/roles/${created.id}`), 404);
    expect(await downloaded(service, renamed)).toBeUndefined();

    const byName = (await ok("POST", `${V2}/roles`, { name: uniqueName("temp") })) as RangerRoleJson;
    // Ranger's execUser rule holds on the v2 mount too: a named user who is no administrator is refused
    const ghost = uniqueName("ghost");
    expectVx(await send("DELETE", `${V2}/roles/name/${byName.name}?execUser=${ghost}`), 403, "query.execUser");
    const admin = await buildDirectoryAdmin(t.db);
    expect((await send("DELETE", `${V2}/roles/name/${byName.name}?execUser=${admin}`)).statusCode).toBe(204);
    expectVx(await send("DELETE", `${V2}/roles/name/${byName.name}`), 404, "path.name");
  });

  it("refuses bad role bodies naming the field and the rule", async () => {
    expectVx(await send("POST", `${V2}/roles`, { description: "no name" }), 400, "body.name", "required");
    expectVx(await send("POST", `${V2}/roles`, { name: "has space" }), 400, "body.name", "pattern");
    expectVx(
      await send("POST", `${V2}/roles`, { name: uniqueName("r"), users: [{ isAdmin: false }] }),
      400,
      "body.users[0].name",
      "required",
    );
    const alice = await newUser();
    expectVx(
      await send("POST", `${V2}/roles`, { name: uniqueName("r"), users: [{ name: alice.username, isAdmin: "yes" }] }),
      400,
      "body.users[0].isAdmin",
    );
    const ghost = uniqueName("ghost");
    const unknownName = uniqueName("r");
    expectVx(
      await send("POST", `${V2}/roles`, { name: unknownName, users: [{ name: alice.username }, { name: ghost }] }),
      422,
      "body.users[1].name",
      "exists",
    );
    // nothing was written: the role does not exist
    expectVx(await send("GET", `${V2}/roles/name/${unknownName}`), 404);
    expectVx(
      await send("POST", `${V2}/roles`, { name: uniqueName("r"), roles: [{ name: uniqueName("nope") }] }),
      404,
      "body.roles[0].name",
    );
    // Ranger's createNonExistUserGroup creates the missing users and groups
    const made = (await ok("POST", `${V2}/roles?createNonExistUserGroup=true`, {
      name: uniqueName("r"),
      users: [{ name: ghost }],
      groups: [{ name: uniqueName("newgroup") }],
    })) as RangerRoleJson;
    expect(names(made.users)).toEqual([ghost]);
    expect(made.groups).toHaveLength(1);
  });

  it("adds and removes members, grants and revokes roles to roles, and refuses cycles", async () => {
    const service = await newHive();
    const carol = await newUser();
    const dave = await newUser();
    const ops = await newGroup(dave.id);
    const readers = (await ok("POST", `${V2}/roles`, { name: uniqueName("readers") })) as RangerRoleJson;
    const stewards = (await ok("POST", `${V2}/roles`, {
      name: uniqueName("stewards"),
      users: [{ name: carol.username }],
    })) as RangerRoleJson;
    const table = uniqueName("t");
    await ok("POST", `${V2}/policy`, {
      service,
      name: uniqueName("p"),
      resources: { database: { values: ["sales"] }, table: { values: [table] }, column: { values: ["*"] } },
      policyItems: [{ roles: [readers.name], accesses: [{ type: "select", isAllowed: true }] }],
    });

    const added = (await ok("PUT", `${V2}/roles/${readers.id}/addUsersAndGroups`, {
      users: [dave.username],
      groups: [ops.name],
      isAdmin: false,
    })) as RangerRoleJson;
    expect(names(added.users)).toEqual([dave.username]);
    expect(names(added.groups)).toEqual([ops.name]);
    // adding again keeps what is there
    const again = (await ok("PUT", `${V2}/roles/${readers.id}/addUsersAndGroups`, {
      users: [dave.username],
    })) as RangerRoleJson;
    expect(names(again.groups)).toEqual([ops.name]);
    // isAdmin: true makes a member already there an administrator; removing the admin option keeps it a member
    const promoted = (await ok("PUT", `${V2}/roles/${readers.id}/addUsersAndGroups`, {
      users: [dave.username],
      isAdmin: true,
    })) as RangerRoleJson;
    expect(promoted.users).toEqual([{ name: dave.username, isAdmin: true }]);
    expect(promoted.groups).toEqual([{ name: ops.name, isAdmin: false }]);
    expect(
      await ok("PUT", `${V2}/roles/${readers.id}/removeAdminFromUsersAndGroups`, { users: [dave.username] }),
    ).toEqual(again);
    const removed = (await ok("PUT", `${V2}/roles/${readers.id}/removeUsersAndGroups`, {
      users: [dave.username],
      groups: [ops.name],
    })) as RangerRoleJson;
    expect(removed).toMatchObject({ users: [], groups: [] });
    expectVx(await send("PUT", `${V2}/roles/999999/removeUsersAndGroups`, { users: [] }), 404);

    // grant readers to the stewards role: carol (a steward) now holds readers
    expect(await allowed(service, carol.username, table)).toBe(false);
    // the grantor is held to Ranger's execUser rule: no such administrator, no grant
    expectVx(
      await send("PUT", `${V2}/roles/grant/${service}`, {
        targetRoles: [readers.name],
        roles: [stewards.name],
        grantor: uniqueName("ghost"),
      }),
      403,
      "body.grantor",
      "effectiveUserIsAdmin",
    );
    const granted = await ok("PUT", `${V2}/roles/grant/${service}`, {
      targetRoles: [readers.name],
      roles: [stewards.name],
      grantor: await buildDirectoryAdmin(t.db),
    });
    expect(granted).toMatchObject({ statusCode: 0 });
    expect((await ok("GET", `${V2}/roles/${readers.id}`)) as RangerRoleJson).toMatchObject({
      roles: [{ name: stewards.name, isAdmin: false }],
    });
    expect((await downloaded(service, readers.name))?.roles).toEqual([{ name: stewards.name, isAdmin: false }]);
    expect(await allowed(service, carol.username, table)).toBe(true);
    // the reverse grant would close a cycle
    expectVx(
      await send("PUT", `${V2}/roles/grant/${service}`, { targetRoles: [stewards.name], roles: [readers.name] }),
      409,
      "body.roles[0]",
      "acyclic",
    );
    expectVx(
      await send("PUT", `${V2}/roles/grant/${service}`, {
        targetRoles: [readers.name],
        users: [carol.username],
        grantOption: "with admin option",
      }),
      400,
      "body.grantOption",
    );
    expectVx(await send("PUT", `${V2}/roles/grant/${service}`, { targetRoles: [] }), 400, "body.targetRoles");
    expectVx(
      await send("PUT", `${V2}/roles/grant/${service}`, { targetRoles: [uniqueName("none")], users: [carol.username] }),
      404,
      "body.targetRoles[0]",
    );
    await ok("PUT", `${V2}/roles/revoke/${service}`, { targetRoles: [readers.name], roles: [stewards.name] });
    expect((await ok("GET", `${V2}/roles/${readers.id}`)) as RangerRoleJson).toMatchObject({ roles: [] });
    expect(await allowed(service, carol.username, table)).toBe(false);
    // grant to users and groups, revoke one of them
    await ok("PUT", `${V2}/roles/grant/${service}`, {
      targetRoles: [readers.name],
      users: [carol.username],
      groups: [ops.name],
    });
    expect(await allowed(service, dave.username, table)).toBe(true);
    await ok("PUT", `${V2}/roles/revoke/${service}`, { targetRoles: [readers.name], groups: [ops.name] });
    expect(await allowed(service, dave.username, table)).toBe(false);
    expect(await allowed(service, carol.username, table)).toBe(true);
  });

  it("changes the members of a built-in role but not its name or description", async () => {
    const erin = await newUser();
    const viewer = (await ok("GET", `${V2}/roles/name/viewer`)) as RangerRoleJson;
    const added = (await ok("PUT", `${V2}/roles/${viewer.id}/addUsersAndGroups`, {
      users: [erin.username],
    })) as RangerRoleJson;
    expect(names(added.users)).toContain(erin.username);
    expectVx(await send("PUT", `${V2}/roles/${viewer.id}`, { ...added, description: "mine now" }), 409);
    const kept = (await ok("PUT", `${V2}/roles/${viewer.id}`, {
      ...added,
      users: added.users.filter((u) => u.name !== erin.username),
    })) as RangerRoleJson;
    expect(names(kept.users)).not.toContain(erin.username);
    expect(kept).toMatchObject({ name: "viewer", description: viewer.description });
  });

  it("shows a built-in role with this organisation's members only, so what it reads it can write back", async () => {
    // a member of the built-in viewer role in another organisation
    const other = await buildOrg(t.db);
    const outsider = await buildUser(t.db, { orgId: other.id });
    await bindBuiltinRole(t.db, outsider.id, other.id, "viewer");
    const viewer = (await ok("GET", `${V2}/roles/name/viewer`)) as RangerRoleJson;
    expect(names(viewer.users)).not.toContain(outsider.username);
    const listed = (await ok("GET", `${V2}/roles`)) as RangerRoleJson[];
    expect(names(listed.find((r) => r.name === "viewer")?.users ?? [])).not.toContain(outsider.username);
    const byId = (await ok("GET", `${V2}/roles/${viewer.id}`)) as RangerRoleJson;
    expect(byId).toEqual(viewer);
    // written back unchanged: nothing changes here, and the other organisation keeps its member
    expect(await ok("PUT", `${V2}/roles/${viewer.id}`, viewer)).toEqual(viewer);
    const bindings = await t.db.kysely
      .selectFrom("role_bindings")
      .where("principal_id", "=", outsider.id)
      .select("id")
      .execute();
    expect(bindings).toHaveLength(1);
  });

  it("creates, replaces and deletes services", async () => {
    const name = uniqueName("hive");
    const created = (await ok("POST", `${V2}/service`, {
      name,
      type: "hive",
      description: "warehouse",
      configs: { username: "hive" },
      isEnabled: true,
    })) as { id: number; name: string };
    expect(created).toMatchObject({ name, type: "hive", description: "warehouse", configs: { username: "hive" } });
    expect(await ok("GET", `${V2}/service/${created.id}`)).toMatchObject({ name, description: "warehouse" });

    expectVx(await send("POST", `${V2}/service`, { name, type: "hive" }), 409);
    expectVx(await send("POST", `${V2}/service`, { name: uniqueName("s") }), 400, "body.type", "required");
    expectVx(await send("POST", `${V2}/service`, { name: uniqueName("s"), type: "no-such-def" }), 404, "body.type");
    expectVx(await send("POST", `${V2}/service`, { name: "bad name", type: "hive" }), 400, "body.name", "pattern");

    // a client sends back what it read, changed
    const read = (await ok("GET", `${V2}/service/name/${name}`)) as Record<string, unknown>;
    const put = await ok("PUT", `${V2}/service/${created.id}`, { ...read, description: "lake", tagService: "tags" });
    expect(put).toMatchObject({
      id: created.id,
      description: "lake",
      tagService: "tags",
      configs: { username: "hive" },
    });
    const byName = await ok("PUT", `${V2}/service/name/${name}`, { ...read, id: 123456, isEnabled: false });
    expect(byName).toMatchObject({ id: created.id, isEnabled: false, description: "warehouse", tagService: null });
    expectVx(await send("PUT", `${V2}/service/${created.id}`, { ...read, id: created.id + 1 }), 400, "body.id");
    expectVx(
      await send("PUT", `${V2}/service/${created.id}`, { ...read, name: uniqueName("x") }),
      400,
      "body.name",
      "immutable",
    );
    expectVx(
      await send("PUT", `${V2}/service/${created.id}`, { ...read, type: "hdfs" }),
      400,
      "body.type",
      "immutable",
    );
    expectVx(await send("PUT", `${V2}/service/${created.id}`, { ...read, tagService: name }), 400, "body.tagService");
    expectVx(await send("PUT", `${V2}/service/999999`, { name }), 404);
    expectVx(await send("PUT", `${V2}/service/name/${uniqueName("none")}`, { name }), 404);

    expect((await send("DELETE", `${V2}/service/${created.id}`)).statusCode).toBe(204);
    expectVx(await send("GET", `${V2}/service/${created.id}`), 404);
    expectVx(await send("DELETE", `${V2}/service/${created.id}`), 404);
    const other = await newHive();
    expect((await send("DELETE", `${V2}/service/name/${other}`)).statusCode).toBe(204);
    expectVx(await send("DELETE", `${V2}/service/name/${other}`), 404);
  });

  it("creates, replaces and deletes security zones", async () => {
    const service = await newHive();
    const name = uniqueName("zone");
    const created = (await ok("POST", `${V2}/zones`, {
      name,
      description: "finance",
      services: { [service]: { resources: [{ database: ["finance"] }] } },
      tagServices: ["tags"],
      adminUsers: ["admin"],
      auditUserGroups: ["auditors"],
      isEnabled: true,
    })) as { id: number } & Record<string, unknown>;
    expect(created).toMatchObject({
      name,
      services: { [service]: { resources: [{ database: ["finance"] }] } },
      tagServices: ["tags"],
      adminUsers: ["admin"],
      auditUserGroups: ["auditors"],
    });
    expect(await ok("GET", `${V2}/zones/${created.id}`)).toEqual(created);
    expect(await ok("GET", `/v1/zones/${name}`)).toEqual(created);

    expectVx(await send("POST", `${V2}/zones`, { name: name.toUpperCase(), tagServices: ["tags"] }), 409);
    expectVx(await send("POST", `${V2}/zones`, { name: uniqueName("z") }), 400, "body.services", "minProperties");
    expectVx(await send("POST", `${V2}/zones`, { description: "no name" }), 400, "body.name", "required");
    const unknown = uniqueName("none");
    expectVx(
      await send("POST", `${V2}/zones`, { name: uniqueName("z"), services: { [unknown]: { resources: [] } } }),
      400,
      `body.services.${unknown}`,
      "serviceKnown",
    );
    expectVx(
      await send("POST", `${V2}/zones`, {
        name: uniqueName("z"),
        services: { [service]: { resources: [{ database: ["finance"] }] } },
      }),
      409,
      `body.services.${service}.resources[0]`,
      "noOverlap",
    );

    const replaced = await ok("PUT", `${V2}/zones/${created.id}`, {
      ...created,
      services: { [service]: { resources: [{ database: ["finance", "hr"] }], resourcesBaseInfo: [] } },
      adminUsers: [],
    });
    expect(replaced).toMatchObject({
      id: created.id,
      services: { [service]: { resources: [{ database: ["finance", "hr"] }] } },
      adminUsers: [],
      auditUserGroups: ["auditors"],
    });
    expectVx(await send("PUT", `${V2}/zones/${created.id}`, { ...created, id: created.id + 1 }), 400, "body.id");
    expectVx(await send("PUT", `${V2}/zones/999999`, { name: uniqueName("z"), tagServices: ["tags"] }), 404);

    // a zone with policies is not deleted
    const zoned = await send("POST", `${V2}/policy`, {
      service,
      zoneName: name,
      name: uniqueName("p"),
      resources: { database: { values: ["finance"] }, table: { values: ["*"] }, column: { values: ["*"] } },
      policyItems: [{ users: ["alice"], accesses: [{ type: "select" }] }],
    });
    expect(zoned.statusCode, zoned.body).toBe(200);
    expectVx(await send("DELETE", `${V2}/zones/${created.id}`), 409);
    await ok("DELETE", `${V2}/policy/${zoned.json().id}`);

    expect((await send("DELETE", `${V2}/zones/${created.id}`)).statusCode).toBe(204);
    expectVx(await send("GET", `${V2}/zones/${created.id}`), 404);
    expectVx(await send("DELETE", `${V2}/zones/${created.id}`), 404);
    const other = (await ok("POST", `${V2}/zones`, { name: uniqueName("zone"), tagServices: ["tags"] })) as {
      name: string;
    };
    expect((await send("DELETE", `${V2}/zones/name/${other.name}`)).statusCode).toBe(204);
    expectVx(await send("DELETE", `${V2}/zones/name/${other.name}`), 404);
  });

  it("answers ids beyond 32 bits as bad input, never a server fault", async () => {
    const big = "99999999999";
    for (const [method, url] of [
      ["GET", `${V2}/policy/${big}`],
      ["GET", `${V2}/zones/${big}`],
      ["PUT", `${V2}/roles/${big}`],
      ["DELETE", `${V2}/roles/${big}`],
      ["DELETE", `${V2}/zones/${big}`],
      ["DELETE", `${V2}/service/${big}`],
    ] as const) {
      expectVx(await send(method, url, method === "PUT" ? { name: uniqueName("r") } : undefined), 400, "path.id");
    }
  });

  it("lists every write route in the OpenAPI document", async () => {
    const doc = (await ok("GET", "/openapi.json")) as { paths: Record<string, Record<string, unknown>> };
    const expected: [string, string][] = [
      ["/service/public/v2/api/roles", "post"],
      ["/service/public/v2/api/roles/{id}", "put"],
      ["/service/public/v2/api/roles/{id}", "delete"],
      ["/service/public/v2/api/roles/name/{name}", "delete"],
      ["/service/public/v2/api/roles/{id}/addUsersAndGroups", "put"],
      ["/service/public/v2/api/roles/{id}/removeUsersAndGroups", "put"],
      ["/service/public/v2/api/roles/{id}/removeAdminFromUsersAndGroups", "put"],
      ["/service/public/v2/api/roles/grant/{serviceName}", "put"],
      ["/service/public/v2/api/roles/revoke/{serviceName}", "put"],
      ["/service/public/v2/api/service", "post"],
      ["/service/public/v2/api/service/{id}", "put"],
      ["/service/public/v2/api/service/name/{name}", "put"],
      ["/service/public/v2/api/service/{id}", "delete"],
      ["/service/public/v2/api/service/name/{name}", "delete"],
      ["/service/public/v2/api/zones", "post"],
      ["/service/public/v2/api/zones/{id}", "put"],
      ["/service/public/v2/api/zones/{id}", "delete"],
      ["/service/public/v2/api/zones/name/{name}", "delete"],
    ];
    for (const [path, method] of expected) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
  });
});

/** The native role named `name`. */
async function nativeRole(name: string) {
  const page = (await ok("GET", `/v1/roles?prefix=${encodeURIComponent(name)}`)) as {
    items: { id: string; name: string }[];
  };
  const role = page.items.find((r) => r.name === name);
  expect(role).toBeDefined();
  return role as { id: string; name: string };
}
