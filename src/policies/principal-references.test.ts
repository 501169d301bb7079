import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGroupVia, createUserVia } from "../../test/support/directory.ts";
import { bindBuiltinRole, uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";

let t: TestApp;
let service: string;
beforeAll(async () => {
  t = await testApp();
  service = uniqueName("svc");
  const res = await t.request({ method: "POST", url: "/v1/services", payload: { name: service, type: "trino" } });
  expect(res.statusCode, res.body).toBe(201);
}, 300_000);
afterAll(async () => {
  await t?.app.close();
});

/** A policy on its own schema with one item naming `principal`, one also naming a user who stays. */
async function policyNaming(kind: "users" | "groups" | "roles", name: string) {
  const schema = uniqueName("s");
  const res = await t.request({
    method: "POST",
    url: `/v1/services/${service}/policies`,
    payload: {
      name: uniqueName("p"),
      resources: { catalog: { values: ["sales"] }, schema: { values: [schema] }, table: { values: ["*"] } },
      policyItems: [
        { [kind]: [name], accesses: [{ type: "select" }] },
        { [kind]: [name], users: ["keeper"], accesses: [{ type: "insert" }] },
      ],
      denyPolicyItems: [{ [kind]: [name], accesses: [{ type: "drop" }] }],
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  return { id: res.json().id as number, schema };
}

async function getPolicy(id: number) {
  return (await t.request({ method: "GET", url: `/v1/services/${service}/policies/${id}` })).json();
}

/** Whether `user` (given `kind` = name) may select on the policy's schema, as the live engine says. */
async function decide(schema: string, principal: Record<string, unknown>) {
  const res = await t.request({
    method: "POST",
    url: "/v1/decisions",
    payload: {
      service,
      user: uniqueName("ext"),
      groups: [],
      roles: [],
      ...principal,
      resource: { catalog: "sales", schema, table: "t" },
      accessType: "select",
    },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().allowed as boolean;
}

/** Refused with 409 listing the policy and nothing changed; then force removes it from the policy. */
async function refusedThenForced(
  url: string,
  kind: "users" | "groups" | "roles",
  name: string,
  policy: { id: number; schema: string },
  principal: Record<string, unknown>,
) {
  expect(await decide(policy.schema, principal)).toBe(true);
  const refused = await t.request({ method: "DELETE", url });
  expect(refused.statusCode, refused.body).toBe(409);
  const body = refused.json();
  expect(body.code).toBe("PRINCIPAL_IN_POLICIES");
  expect(body.message).toContain(`${service}/`);
  expect(body.message).toContain(`(id ${policy.id})`);
  expect(body.meta.policies).toEqual([expect.objectContaining({ id: policy.id, service })]);
  expect((await getPolicy(policy.id)).version).toBe(1);

  const forced = await t.request({ method: "DELETE", url: `${url}?force=true` });
  expect(forced.statusCode, forced.body).toBe(204);
  const after = await getPolicy(policy.id);
  expect(after.version).toBe(2);
  // the item that named only the principal is gone (Ranger's rule), the shared one keeps `keeper`
  expect(after.policyItems).toEqual([
    expect.objectContaining({ users: ["keeper"], accesses: [{ type: "insert", isAllowed: true }] }),
  ]);
  expect(after.policyItems[0][kind] ?? []).not.toContain(name);
  expect(after.denyPolicyItems ?? []).toEqual([]);
  // the live engine follows, as after any policy change
  expect(await decide(policy.schema, principal)).toBe(false);
  const audit = await t.request({ method: "GET", url: `/v1/audit/events?targetType=policy&targetId=${policy.id}` });
  expect(audit.json().items.map((e: { action: string }) => e.action)).toContain("policy.updated");
}

/** An API key of a new `directory-admin` user of the default organisation. */
async function directoryAdminKey(): Promise<string> {
  const admin = await createUserVia(t);
  await bindBuiltinRole(t.db, admin.id, admin.orgId, "directory-admin");
  const res = await t.request({ method: "POST", url: "/v1/api-keys", payload: { userId: admin.id, name: "k" } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().key as string;
}

describe(`deleting a principal that policies name (${TEST_BACKEND})`, () => {
  it("refuses a group with 409 listing the policies; force=true removes it from them, each a new version", async () => {
    const group = await createGroupVia(t);
    const policy = await policyNaming("groups", group.name);
    await refusedThenForced(`/v1/groups/${group.id}`, "groups", group.name, policy, { groups: [group.name] });
    expect((await t.request({ method: "GET", url: `/v1/groups/${group.id}` })).statusCode).toBe(404);
  });

  it("refuses a user likewise, and force removes it", async () => {
    const user = await createUserVia(t);
    const policy = await policyNaming("users", user.username);
    await refusedThenForced(`/v1/users/${user.id}`, "users", user.username, policy, { user: user.username });
  });

  it("refuses a role likewise, and force removes it", async () => {
    const role = (await t.request({ method: "POST", url: "/v1/roles", payload: { name: uniqueName("role") } })).json();
    const policy = await policyNaming("roles", role.name);
    await refusedThenForced(`/v1/roles/${role.id}`, "roles", role.name, policy, { roles: [role.name] });
  });

  it("rolls everything back when one policy cannot be rewritten: the principal stays", async () => {
    const group = await createGroupVia(t);
    const policy = await policyNaming("groups", group.name);
    // a user with directory.write but no policy.write may not rewrite policies
    const key = await directoryAdminKey();
    const res = await t.request({
      method: "DELETE",
      url: `/v1/groups/${group.id}?force=true`,
      headers: { "authorization-psk": key },
    });
    expect(res.statusCode, res.body).toBe(403);
    expect((await t.request({ method: "GET", url: `/v1/groups/${group.id}` })).statusCode).toBe(200);
    expect((await getPolicy(policy.id)).version).toBe(1);
  });

  it("deletes a principal no policy names as before, and leaves a name another organisation still holds", async () => {
    const plain = await createGroupVia(t);
    expect((await t.request({ method: "DELETE", url: `/v1/groups/${plain.id}` })).statusCode).toBe(204);
    const org = (await t.request({ method: "POST", url: "/v1/orgs", payload: { name: uniqueName("org") } })).json();
    const name = uniqueName("shared");
    const here = await createGroupVia(t, { name });
    await createGroupVia(t, { name, orgId: org.id });
    const policy = await policyNaming("groups", name);
    expect((await t.request({ method: "DELETE", url: `/v1/groups/${here.id}` })).statusCode).toBe(204);
    expect((await getPolicy(policy.id)).version).toBe(1);
  });

  it("refuses through the compatibility routes in their own error shapes, and Ranger's role delete as Ranger does", async () => {
    const key = await directoryAdminKey();
    const headers = {
      frontier: { authorization: `Bearer ${key}` },
      puppet: { "x-authentication": key },
      aria: { authorization: `OpsToken ${key}`, accept: "application/json" },
    };
    const cases: [
      keyof typeof headers,
      (id: string, orgId: string) => string,
      (body: Record<string, unknown>) => void,
      number,
    ][] = [
      [
        "frontier",
        (id, orgId) => `/v1beta1/organizations/${orgId}/groups/${id}`,
        (b) => expect(b).toMatchObject({ code: 9, message: expect.stringContaining("named by 1 policy") }),
        400,
      ],
      [
        "puppet",
        (id) => `/rbac-api/v1/groups/${id}`,
        (b) => expect(b).toMatchObject({ kind: "conflict", msg: expect.stringContaining("named by 1 policy") }),
        409,
      ],
      [
        "aria",
        (id) => `/suite-api/api/auth/usergroups/${id}`,
        (b) => expect(JSON.stringify(b)).toContain("named by 1 policy"),
        409,
      ],
    ];
    for (const [product, url, shape, status] of cases) {
      const group = await createGroupVia(t);
      await policyNaming("groups", group.name);
      const res = await t.request({
        method: "DELETE",
        url: url(group.id, group.orgId),
        headers: headers[product],
      });
      expect(res.statusCode, `${product}: ${res.body}`).toBe(status);
      shape(res.json());
      expect((await t.request({ method: "GET", url: `/v1/groups/${group.id}` })).statusCode, product).toBe(200);
    }
    const role = (await t.request({ method: "POST", url: "/v1/roles", payload: { name: uniqueName("role") } })).json();
    await policyNaming("roles", role.name);
    const ranger = await t.request({ method: "DELETE", url: `/service/roles/roles/${role.num}` });
    expect(ranger.statusCode, ranger.body).toBe(409);
    expect(ranger.json()).toMatchObject({ statusCode: 1, msgDesc: expect.stringContaining("named by 1 policy") });
  });
});
