import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../../test/support/factories.ts";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../../test/support/test-db.ts";
import { seedService } from "../../decisions/test-seed.ts";

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
});

type Seeded = Awaited<ReturnType<typeof seedService>>;

/** The grant/revoke call a Ranger plugin makes for `GRANT ... ON sales.<schema>.orders`. */
function call(kind: "grant" | "revoke", s: Seeded, body: Record<string, unknown>, secure = false) {
  return t.request({
    method: "POST",
    url: `/service/plugins/${secure ? "secure/" : ""}services/${kind}/${s.service}`,
    payload: {
      grantor: s.alice,
      resource: { catalog: "sales", schema: s.schema, table: "orders" },
      enableAudit: true,
      clientIPAddress: "10.0.0.7",
      clientType: "trino",
      ...body,
    },
  });
}

async function allowed(s: Seeded, user: string, accessType: string) {
  const res = await t.request({
    method: "POST",
    url: "/v1/decisions",
    payload: {
      service: s.service,
      user,
      resource: { catalog: "sales", schema: s.schema, table: "orders" },
      accessType,
    },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { allowed: boolean; policyId: number };
}

/** alice may administer sales.<schema>.* (delegated admin), as a data owner would. */
async function makeAliceAdmin(s: Seeded) {
  const res = await t.request({
    method: "POST",
    url: `/v1/services/${s.service}/policies`,
    payload: {
      name: uniqueName("owners"),
      resources: { catalog: { values: ["sales"] }, schema: { values: [s.schema] }, table: { values: ["*"] } },
      policyItems: [{ users: [s.alice], accesses: [{ type: "select" }], delegateAdmin: true }],
      // same resources as the seeded analysts policy: a second priority keeps the signatures apart
      policyPriority: 1,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
}

describe(`Ranger plugin grant/revoke (${TEST_BACKEND})`, () => {
  it("a delegated admin's GRANT creates the exact-resource policy, later grants and revokes merge into it, and decisions follow", async () => {
    const s = await seedService(t);
    await makeAliceAdmin(s);
    expect((await allowed(s, s.bob, "select")).allowed).toBe(false);

    const granted = await call("grant", s, { users: [s.bob], accessTypes: ["select"] });
    expect(granted.statusCode, granted.body).toBe(200);
    const created = granted.json();
    expect(created).toMatchObject({ statusCode: 0, outcome: "created", zoneName: "" });
    expect(created.policyName).toMatch(/^grant-\d+$/);
    expect(await allowed(s, s.bob, "select")).toMatchObject({ allowed: true, policyId: created.policyId });
    expect((await allowed(s, s.bob, "insert")).allowed).toBe(false);

    const policy = await t.request({ method: "GET", url: `/v1/services/${s.service}/policies/${created.policyId}` });
    expect(policy.json()).toMatchObject({
      description: "created by grant",
      isAuditEnabled: true,
      resources: { catalog: { values: ["sales"] }, schema: { values: [s.schema] }, table: { values: ["orders"] } },
      policyItems: [{ users: [s.bob], accesses: [{ type: "select", isAllowed: true }], delegateAdmin: false }],
    });

    // a second grant on the same resource lands in the same policy
    const more = await call("grant", s, { users: [s.bob], accessTypes: ["insert"] }, true);
    expect(more.statusCode, more.body).toBe(200);
    expect(more.json()).toMatchObject({ outcome: "updated", policyId: created.policyId });
    expect((await allowed(s, s.bob, "insert")).allowed).toBe(true);

    const revoked = await call("revoke", s, { users: [s.bob], accessTypes: ["select"] });
    expect(revoked.statusCode, revoked.body).toBe(200);
    expect(revoked.json()).toMatchObject({ outcome: "updated", policyId: created.policyId });
    expect((await allowed(s, s.bob, "select")).allowed).toBe(false);
    expect((await allowed(s, s.bob, "insert")).allowed).toBe(true);

    // each call is audited with the grantor, next to the policy change it made
    const audit = await t.request({
      method: "GET",
      url: `/v1/audit/events?action=policy.*&targetId=${created.policyId}`,
    });
    const actions = (audit.json().items as { action: string; after: { grantor?: string } }[]).map((e) => e.action);
    expect(actions).toEqual([
      "policy.revoked",
      "policy.updated",
      "policy.granted",
      "policy.updated",
      "policy.granted",
      "policy.created",
    ]);
    expect(audit.json().items[0].after).toMatchObject({ grantor: s.alice, users: [s.bob], accessTypes: ["select"] });
  });

  it("refuses a grantor without delegated admin (403) and changes nothing", async () => {
    const s = await seedService(t);
    await makeAliceAdmin(s);
    const res = await call("grant", s, { grantor: s.bob, users: [s.bob], accessTypes: ["select"] });
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json().msgDesc).toContain("doesn't have necessary permission to grant access");
    expect((await allowed(s, s.bob, "select")).allowed).toBe(false);
    // grantor groups sent by the plugin are used instead of the directory's (analysts: no delegated admin)
    const viaGroups = await call("grant", s, {
      grantor: s.bob,
      grantorGroups: [s.analysts],
      users: [s.bob],
      accessTypes: ["select"],
    });
    expect(viaGroups.statusCode, viaGroups.body).toBe(403);
  });

  it("a grant on a resource inside a security zone lands in a policy of that zone", async () => {
    const s = await seedService(t);
    const zone = uniqueName("zone");
    const z = await t.request({
      method: "POST",
      url: "/v1/zones",
      payload: { name: zone, services: { [s.service]: { resources: [{ catalog: ["sales"], schema: [s.schema] }] } } },
    });
    expect(z.statusCode, z.body).toBe(201);
    // inside the zone only zone policies decide, so alice's delegated admin must be one
    const owners = await t.request({
      method: "POST",
      url: `/v1/services/${s.service}/policies`,
      payload: {
        name: uniqueName("owners"),
        zoneName: zone,
        resources: { catalog: { values: ["sales"] }, schema: { values: [s.schema] }, table: { values: ["*"] } },
        policyItems: [{ users: [s.alice], accesses: [{ type: "select" }], delegateAdmin: true }],
      },
    });
    expect(owners.statusCode, owners.body).toBe(201);
    const res = await call("grant", s, { users: [s.bob], accessTypes: ["select"] });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ outcome: "created", zoneName: zone });
    const policy = await t.request({ method: "GET", url: `/v1/services/${s.service}/policies/${res.json().policyId}` });
    expect(policy.json()).toMatchObject({ zoneName: zone });
    expect(await allowed(s, s.bob, "select")).toMatchObject({ allowed: true, policyId: res.json().policyId });
  });

  it("a revoke where no policy covers exactly the resource changes nothing", async () => {
    const s = await seedService(t);
    await makeAliceAdmin(s);
    const res = await call("revoke", s, { users: [s.bob], accessTypes: ["select"] });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ statusCode: 0, outcome: "none", policyId: null });
  });

  it("answers bad requests with 4xx naming the field", async () => {
    const s = await seedService(t);
    await makeAliceAdmin(s);
    const noAccess = await call("grant", s, { users: [s.bob], accessTypes: [] });
    expect(noAccess.statusCode).toBe(400);
    expect(noAccess.json().msgDesc).toContain("accessTypes");
    const nobody = await call("grant", s, { accessTypes: ["select"] });
    expect(nobody.statusCode).toBe(400);
    expect(nobody.json().msgDesc).toContain("body.users");
    const badAccess = await call("grant", s, { users: [s.bob], accessTypes: ["fly"] });
    expect(badAccess.statusCode, badAccess.body).toBe(400);
    expect(badAccess.json().msgDesc).toContain("fly");
    const unknown = await t.request({
      method: "POST",
      url: `/service/plugins/services/grant/${uniqueName("nosvc")}`,
      payload: { grantor: s.alice, resource: { catalog: "sales" }, users: [s.bob], accessTypes: ["select"] },
    });
    expect(unknown.statusCode).toBe(404);
    const anonymous = await t.request({
      method: "POST",
      url: `/service/plugins/services/grant/${s.service}`,
      headers: { "authorization-psk": "" },
      payload: { grantor: s.alice, resource: { catalog: "sales" }, users: [s.bob], accessTypes: ["select"] },
    });
    expect(anonymous.statusCode).toBe(401);
  });
});
