import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../../test/support/factories.ts";
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
const JSON_TYPE = { "content-type": "application/json" };

async function newService() {
  const service = uniqueName("hive");
  const res = await t.request({ method: "POST", url: "/v1/services", payload: { name: service, type: "hive" } });
  expect(res.statusCode, res.body).toBe(201);
  return service;
}

async function createPolicy(service: string, name: string, resources: Record<string, string[]>) {
  const res = await t.request({
    method: "POST",
    url: `${V2}/policy`,
    payload: {
      service,
      name,
      resources: Object.fromEntries(Object.entries(resources).map(([k, values]) => [k, { values }])),
      policyItems: [{ users: ["alice"], accesses: [{ type: "select", isAllowed: true }] }],
    },
  });
  expect(res.statusCode, res.body).toBe(200);
}

async function search(query: string): Promise<string[]> {
  const res = await t.request({ method: "GET", url: `${V2}/policy?${query}` });
  expect(res.statusCode, res.body).toBe(200);
  return (res.json() as { name: string }[]).map((p) => p.name).sort();
}

describe(`Ranger admin API for RangerClient (${TEST_BACKEND})`, () => {
  it("searches resources without a scope as Ranger's predicate: named value or wildcard, any depth, case kept", async () => {
    const service = await newService();
    await createPolicy(service, "exact", { database: ["sales"], table: ["orders"], column: ["*"] });
    await createPolicy(service, "wild", { database: ["sal*"], table: ["*"], column: ["*"] });
    await createPolicy(service, "other", { database: ["hr"], table: ["*"], column: ["*"] });
    const s = `serviceName=${service}`;
    expect(await search(`${s}&resource:database=sales`)).toEqual(["exact", "wild"]);
    expect(await search(`${s}&resource:database=sales&resource:table=orders`)).toEqual(["exact", "wild"]);
    expect(await search(`${s}&resource:database=sales&resource:table=customers`)).toEqual(["wild"]);
    expect(await search(`${s}&resource:database=SALES`)).toEqual([]);
    // With a scope, the native matcher decides: a table-level policy is no database-level one,
    // while `sal*.*.*` is (everything below it).
    expect(await search(`${s}&resource:database=sales&resourceMatchScope=self`)).toEqual(["wild"]);
    expect(await search(`${s}&polResource=ALE`)).toEqual(["exact"]);
    expect(await search(`${s}&polResource=AL`)).toEqual(["exact", "wild"]);
    expect(await search(`${s}&policyNamePrefix=EX`)).toEqual(["exact"]);
    const bad = await t.request({ method: "GET", url: `${V2}/policy?${s}&policyPriority=urgent` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().msgDesc).toContain("query.policyPriority");
  });

  it("keeps built-in service-defs and service-def names as they are", async () => {
    const hive = (await t.request({ method: "GET", url: `${V2}/servicedef/name/hive` })).json();
    const changed = await t.request({ method: "PUT", url: `${V2}/servicedef/${hive.id}`, payload: hive });
    expect(changed.statusCode).toBe(409);
    expect(changed.json()).toMatchObject({ statusCode: 1, code: "SERVICE_DEF_IN_USE" });
    const name = uniqueName("custom");
    const def = {
      name,
      resources: [{ itemId: 1, name: "path", type: "path", level: 10 }],
      accessTypes: [{ itemId: 1, name: "read" }],
    };
    const created = await t.request({ method: "POST", url: `${V2}/servicedef`, payload: def });
    expect(created.statusCode, created.body).toBe(200);
    const renamed = await t.request({
      method: "PUT",
      url: `${V2}/servicedef/name/${name}`,
      payload: { ...def, name: `${name}x` },
    });
    expect(renamed.statusCode).toBe(400);
    expect(renamed.json().messageList).toEqual([expect.objectContaining({ rbKey: "body.name", name: "immutable" })]);
    const otherId = await t.request({
      method: "PUT",
      url: `${V2}/servicedef/name/${name}`,
      payload: { ...def, id: created.json().id + 1 },
    });
    expect(otherId.statusCode).toBe(400);
    const missing = await t.request({ method: "GET", url: `${V2}/servicedef/2000000000` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ statusCode: 1, code: "SERVICE_DEF_NOT_FOUND" });
  });

  it("accepts the JSON content type with no body on deletes, as Ranger does", async () => {
    const service = await newService();
    const res = await t.request({ method: "DELETE", url: `${V2}/service/name/${service}`, headers: JSON_TYPE });
    expect(res.statusCode, res.body).toBe(204);
    // A route that needs a body still says so.
    const none = await t.request({ method: "POST", url: `${V2}/servicedef`, headers: JSON_TYPE });
    expect(none.statusCode).toBe(400);
  });

  it("answers the operations it does not serve with 501 in Ranger's error shape", async () => {
    for (const [method, url] of [
      ["DELETE", `${V2}/server/purge/records?type=login_records`],
      ["POST", "/service/admin/set-logger-level"],
    ] as const) {
      const res = await t.request({ method, url, headers: JSON_TYPE });
      expect(res.statusCode).toBe(501);
      expect(res.json()).toMatchObject({
        statusCode: 1,
        code: "RANGER_OPERATION_NOT_SERVED",
        msgDesc: expect.stringContaining("is not served by Gatehouse"),
      });
    }
  });

  it("refuses partial zone changes that name a missing resource or an unknown principal type", async () => {
    const service = await newService();
    const zone = await t.request({
      method: "POST",
      url: `${V2}/zones-v2`,
      payload: { name: uniqueName("z"), services: { [service]: { resources: [{ resource: { database: ["a"] } }] } } },
    });
    expect(zone.statusCode, zone.body).toBe(200);
    const id = zone.json().id;
    const missing = await t.request({
      method: "PUT",
      url: `${V2}/zones-v2/${id}/partial`,
      payload: { resourcesToUpdate: { [service]: { resources: [{ id: 9, resource: { database: ["b"] } }] } } },
    });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().messageList[0].rbKey).toBe(`body.resourcesToUpdate.${service}.resources[0].id`);
    const badType = await t.request({
      method: "PUT",
      url: `${V2}/zones-v2/${id}/partial`,
      payload: { adminsToAdd: [{ type: "ALIEN", name: "x" }] },
    });
    expect(badType.statusCode).toBe(400);
    expect(badType.json().messageList[0].rbKey).toBe("body.admins[0].type");
    // Removing the last resource of a service takes the service out of the zone.
    const removed = await t.request({
      method: "PUT",
      url: `${V2}/zones-v2/${id}/partial`,
      payload: { resourcesToRemove: { [service]: { resources: [{ id: 1 }] } }, tagServicesToAdd: ["tags"] },
    });
    expect(removed.statusCode, removed.body).toBe(200);
    const after = (await t.request({ method: "GET", url: `${V2}/zones-v2/${id}` })).json();
    expect(after.services).toEqual({});
    expect(after.tagServices).toEqual(["tags"]);
  });
});
