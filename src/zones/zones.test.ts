import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { seedService } from "../decisions/test-seed.ts";
import { seedTaggedService } from "../tags/test-seed.ts";

let t: TestApp;

beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
});

async function ok(method: "POST" | "PATCH", url: string, payload: Record<string, unknown>) {
  const res = await t.request({ method, url, payload });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.json();
}

/** A user's decision on `catalog.schema.table` of the service. */
async function decide(service: string, user: string, catalog: string, schema: string, table = "orders") {
  const res = await t.request({
    method: "POST",
    url: "/v1/decisions",
    payload: { service, user, resource: { catalog, schema, table }, accessType: "select" },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { allowed: boolean; policyId: number };
}

describe(`security zones (${TEST_BACKEND})`, () => {
  it("routes a request under the zone to the zone's policies only, and back to the default zone once the zone is gone", async () => {
    // Default zone: analysts (alice) may select sales.<schema>.*; nobody grants bob.
    const s = await seedService(t);
    const hr = await ok("POST", `/v1/services/${s.service}/policies`, {
      name: uniqueName("hr"),
      resources: { catalog: { values: ["hr"] }, schema: { values: ["*"] }, table: { values: ["*"] } },
      policyItems: [{ users: [s.alice], accesses: [{ type: "select" }] }],
    });
    expect(await decide(s.service, s.alice, "sales", s.schema)).toMatchObject({ allowed: true, policyId: s.policy.id });

    const finance = uniqueName("finance");
    const created = await t.request({
      method: "POST",
      url: "/v1/zones",
      payload: {
        name: finance,
        description: "sales data",
        services: { [s.service]: { resources: [{ catalog: ["sales"] }] } },
        adminUsers: ["zoe"],
      },
    });
    expect(created.statusCode, created.body).toBe(201);
    expect(created.headers.location).toBe(`/v1/zones/${finance}`);
    expect(created.json()).toMatchObject({
      name: finance,
      services: { [s.service]: { resources: [{ catalog: ["sales"] }] } },
      tagServices: [],
      adminUsers: ["zoe"],
    });
    // The request now falls in the zone, which has no policies: the default-zone grant no longer applies.
    expect(await decide(s.service, s.alice, "sales", s.schema)).toMatchObject({ allowed: false, policyId: -1 });

    const zonePolicy = await ok("POST", `/v1/services/${s.service}/policies`, {
      name: uniqueName("finance-bob"),
      zoneName: finance,
      resources: { catalog: { values: ["sales"] }, schema: { values: ["*"] }, table: { values: ["*"] } },
      policyItems: [{ users: [s.bob], accesses: [{ type: "select" }] }],
    });
    expect(zonePolicy.zoneName).toBe(finance);
    expect(await decide(s.service, s.bob, "sales", s.schema)).toMatchObject({
      allowed: true,
      policyId: zonePolicy.id,
    });
    expect((await decide(s.service, s.alice, "sales", s.schema)).allowed).toBe(false);
    // Outside the zone the default zone decides, and the zone policy does not apply.
    expect(await decide(s.service, s.alice, "hr", "people")).toMatchObject({ allowed: true, policyId: hr.id });
    expect((await decide(s.service, s.bob, "hr", "people")).allowed).toBe(false);

    // A zone with policies is not deleted: 409 naming how many.
    const refused = await t.request({ method: "DELETE", url: `/v1/zones/${finance}` });
    expect(refused.statusCode).toBe(409);
    expect(refused.json()).toMatchObject({ code: "ZONE_IN_USE", meta: { policies: 1 } });
    expect(refused.json().message).toContain("1 policy");

    // Narrowing the zone to another schema: sales.<schema> is back in the default zone.
    await ok("PATCH", `/v1/zones/${finance.toUpperCase()}`, {
      services: { [s.service]: { resources: [{ catalog: ["sales"], schema: ["restricted"] }] } },
    });
    expect(await decide(s.service, s.alice, "sales", s.schema)).toMatchObject({ allowed: true, policyId: s.policy.id });
    expect((await decide(s.service, s.bob, "sales", "restricted")).allowed).toBe(true);

    const del = await t.request({ method: "DELETE", url: `/v1/services/${s.service}/policies/${zonePolicy.id}` });
    expect(del.statusCode, del.body).toBeLessThan(300);
    expect((await t.request({ method: "DELETE", url: `/v1/zones/${finance}` })).statusCode).toBe(204);
    expect((await t.request({ method: "GET", url: `/v1/zones/${finance}` })).statusCode).toBe(404);
    expect((await decide(s.service, s.bob, "sales", "restricted")).allowed).toBe(false);

    const audit = await t.request({
      method: "GET",
      url: `/v1/audit/events?targetType=zone&targetId=${created.json().id}&limit=100`,
    });
    expect(audit.statusCode, audit.body).toBe(200);
    expect((audit.json().items as { action: string }[]).map((e) => e.action).sort()).toEqual([
      "zone.created",
      "zone.deleted",
      "zone.updated",
    ]);
  });

  it("refuses unknown services, resources the service-def lacks, gaps in the hierarchy and a tag service among data services", async () => {
    const s = await seedService(t);
    const missing = uniqueName("nosuch");
    const res = await t.request({
      method: "POST",
      url: "/v1/zones",
      payload: {
        name: uniqueName("z"),
        services: {
          [missing]: { resources: [{ catalog: ["a"] }] },
          [s.service]: { resources: [{ tabel: ["x"] }, { catalog: ["a"], table: ["t"] }, { catalog: [] }] },
        },
        tagServices: [s.service],
      },
    });
    expect(res.statusCode, res.body).toBe(400);
    const body = res.json();
    expect(body.code).toBe("ZONE_INVALID");
    expect(body.details).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: `body.services.${missing}`, rule: "serviceKnown" }),
        expect.objectContaining({ field: `body.services.${s.service}.resources[0].tabel`, rule: "resourceKnown" }),
        expect.objectContaining({ field: `body.services.${s.service}.resources[1]`, rule: "hierarchy" }),
        expect.objectContaining({ field: `body.services.${s.service}.resources[2].catalog`, rule: "minItems" }),
        expect.objectContaining({ field: "body.tagServices[0]", rule: "tagService" }),
      ]),
    );
    const empty = await t.request({ method: "POST", url: "/v1/zones", payload: { name: uniqueName("z") } });
    expect(empty.statusCode).toBe(400);
    expect(empty.json().details[0]).toMatchObject({ field: "body.services", rule: "minProperties" });
  });

  it("refuses a zone whose resources overlap another zone's in the same service (Ranger's rule), and a taken name in any case", async () => {
    const s = await seedService(t);
    const other = await seedService(t);
    const first = uniqueName("zone-a");
    await ok("POST", "/v1/zones", { name: first, services: { [s.service]: { resources: [{ catalog: ["sales"] }] } } });
    const attempt = async (resources: Record<string, string[]>[], service = s.service) =>
      t.request({
        method: "POST",
        url: "/v1/zones",
        payload: { name: uniqueName("zone-b"), services: { [service]: { resources } } },
      });
    // Below the first zone's resource, the same resource, or a pattern matching it: overlap.
    for (const resources of [
      [{ catalog: ["sales"], schema: ["eu"] }],
      [{ catalog: ["hr"] }, { catalog: ["sales"] }],
      [{ catalog: ["s*"] }],
      [{ catalog: ["hr", "sales"] }],
    ]) {
      const res = await attempt(resources);
      expect(res.statusCode, JSON.stringify(resources)).toBe(409);
      expect(res.json()).toMatchObject({ code: "ZONE_RESOURCES_OVERLAP", meta: { zone: first, service: s.service } });
      expect(res.json().details[0].field).toMatch(new RegExp(`^body\\.services\\.${s.service}\\.resources\\[\\d\\]$`));
    }
    expect((await attempt([{ catalog: ["s*"] }])).json().details[0].field).toBe(
      `body.services.${s.service}.resources[0]`,
    );
    expect((await attempt([{ catalog: ["hr"] }, { catalog: ["sales"] }])).json().details[0].field).toBe(
      `body.services.${s.service}.resources[1]`,
    );
    // Disjoint resources, or the same resources of another service: no overlap.
    expect((await attempt([{ catalog: ["hr"] }])).statusCode).toBe(201);
    expect((await attempt([{ catalog: ["sales"] }], other.service)).statusCode).toBe(201);
    // Widening an existing zone over the first one is refused the same way.
    const third = uniqueName("zone-c");
    await ok("POST", "/v1/zones", { name: third, services: { [s.service]: { resources: [{ catalog: ["ops"] }] } } });
    const widen = await t.request({
      method: "PATCH",
      url: `/v1/zones/${third}`,
      payload: { services: { [s.service]: { resources: [{ catalog: ["*"] }] } } },
    });
    expect(widen.statusCode).toBe(409);
    expect(widen.json().code).toBe("ZONE_RESOURCES_OVERLAP");

    const taken = await t.request({
      method: "POST",
      url: "/v1/zones",
      payload: { name: first.toUpperCase(), services: { [other.service]: { resources: [{ catalog: ["x"] }] } } },
    });
    expect(taken.statusCode).toBe(409);
    expect(taken.json().code).toBe("ZONE_NAME_TAKEN");
  });

  it("a policy's zone must exist and include the policy's service; zones with policies keep their name and services", async () => {
    const s = await seedService(t);
    const other = await seedService(t);
    const zone = uniqueName("zone");
    await ok("POST", "/v1/zones", {
      name: zone,
      services: { [s.service]: { resources: [{ catalog: ["sales"] }] } },
    });
    const policy = (zoneName: string, service = s.service) =>
      t.request({
        method: "POST",
        url: `/v1/services/${service}/policies`,
        payload: {
          name: uniqueName("p"),
          zoneName,
          resources: { catalog: { values: ["sales"] }, schema: { values: ["*"] }, table: { values: ["*"] } },
          policyItems: [{ users: [s.bob], accesses: [{ type: "select" }] }],
        },
      });
    for (const [zoneName, service, text] of [
      [uniqueName("nosuch"), s.service, "does not exist"],
      [zone.toUpperCase(), s.service, `did you mean \`${zone}\``],
      [zone, other.service, `does not include service \`${other.service}\``],
    ] as const) {
      const res = await policy(zoneName, service);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({
        code: "POLICY_INVALID",
        details: [expect.objectContaining({ field: "body.zoneName", rule: "zoneKnown" })],
      });
      expect(res.json().message).toContain(text);
    }
    expect((await policy(zone)).statusCode).toBe(201);

    const rename = await t.request({ method: "PATCH", url: `/v1/zones/${zone}`, payload: { name: uniqueName("z2") } });
    expect(rename.statusCode).toBe(409);
    expect(rename.json()).toMatchObject({ code: "ZONE_IN_USE", details: [{ field: "body.name" }] });
    const drop = await t.request({
      method: "PATCH",
      url: `/v1/zones/${zone}`,
      payload: { services: { [other.service]: { resources: [{ catalog: ["sales"] }] } } },
    });
    expect(drop.statusCode).toBe(409);
    expect(drop.json()).toMatchObject({ code: "ZONE_IN_USE", meta: { policies: 1 } });
    // A change that strands nothing is fine: the description, and adding a service.
    const patched = await ok("PATCH", `/v1/zones/${zone}`, {
      description: "finance",
      services: {
        [s.service]: { resources: [{ catalog: ["sales"] }] },
        [other.service]: { resources: [{ catalog: ["sales"] }] },
      },
    });
    expect(Object.keys(patched.services).sort()).toEqual([s.service, other.service].sort());
  });

  it("lists zones by pages with the shared cursor", async () => {
    const s = await seedService(t);
    for (const c of ["a", "b", "c"])
      await ok("POST", "/v1/zones", {
        name: uniqueName("zl"),
        services: { [s.service]: { resources: [{ catalog: [c] }] } },
      });
    const first = (await t.request({ method: "GET", url: "/v1/zones?limit=2" })).json();
    expect(first.items).toHaveLength(2);
    expect(first.total).toBeGreaterThanOrEqual(3);
    expect(typeof first.nextCursor).toBe("string");
    const second = (await t.request({ method: "GET", url: `/v1/zones?limit=2&cursor=${first.nextCursor}` })).json();
    expect(second.items[0].id).toBeGreaterThan(first.items[1].id);
    expect((await t.request({ method: "GET", url: "/v1/zones?cursor=nope" })).statusCode).toBe(400);
  });

  it("inside a zone that includes the linked tag service only the zone's tag policies apply; elsewhere the tag policies without a zone", async () => {
    const s = await seedTaggedService(t);
    await t.request({
      method: "POST",
      url: `/v1/services/${s.service}/tagged-resources`,
      payload: { resourceElements: s.table("orders"), tags: [{ type: s.pii }] },
    });
    expect(await s.decide("orders")).toMatchObject({ allowed: false, policyId: s.tagPolicy.id });

    const zone = uniqueName("pii-zone");
    const created = await ok("POST", "/v1/zones", {
      name: zone,
      services: { [s.service]: { resources: [{ catalog: ["sales"], schema: [s.schema] }] } },
      tagServices: [s.tagService],
    });
    expect(created.tagServices).toEqual([s.tagService]);
    const grant = await ok("POST", `/v1/services/${s.service}/policies`, {
      name: uniqueName("zone-analysts"),
      zoneName: zone,
      resources: { catalog: { values: ["sales"] }, schema: { values: [s.schema] }, table: { values: ["*"] } },
      policyItems: [{ groups: [s.analysts], accesses: [{ type: "select" }] }],
    });
    // The zone-less tag policy no longer applies inside the zone: the zone's grant decides.
    expect(await s.decide("orders")).toMatchObject({ allowed: true, policyId: grant.id });
    const sp = (await t.request({ method: "GET", url: `/service/plugins/policies/download/${s.service}` })).json();
    expect(sp.securityZones[zone]).toMatchObject({ containsAssociatedTagService: true });

    // A tag policy of the zone does.
    const zoneTagPolicy = await ok("POST", `/v1/services/${s.tagService}/policies`, {
      name: uniqueName("zone-deny-pii"),
      zoneName: zone,
      resources: { tag: { values: [s.pii] } },
      denyPolicyItems: [{ groups: [s.analysts], accesses: [{ type: "trino:select" }] }],
    });
    expect(await s.decide("orders")).toMatchObject({ allowed: false, policyId: zoneTagPolicy.id });
  });
});
