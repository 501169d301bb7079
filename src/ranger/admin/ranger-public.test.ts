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

async function newService() {
  const service = uniqueName("hive");
  const res = await t.request({ method: "POST", url: "/v1/services", payload: { name: service, type: "hive" } });
  expect(res.statusCode, res.body).toBe(201);
  return service;
}

/** A Ranger client's policy body for `db.<table>`. */
function policyBody(service: string, name: string, table: string, items: Record<string, unknown>[]) {
  return {
    service,
    name,
    isEnabled: true,
    isAuditEnabled: true,
    resources: { database: { values: ["sales"] }, table: { values: [table] }, column: { values: ["*"] } },
    policyItems: items,
  };
}

describe(`Ranger public REST API v2 (${TEST_BACKEND})`, () => {
  it("reads service-defs and services the way Ranger clients look them up", async () => {
    const service = await newService();
    const def = await t.request({ method: "GET", url: `${V2}/servicedef/name/hive` });
    expect(def.statusCode).toBe(200);
    expect(def.json().resources.map((r: { name: string }) => r.name)).toContain("table");
    const byName = await t.request({ method: "GET", url: `${V2}/service/name/${service}` });
    expect(byName.json()).toMatchObject({ name: service, type: "hive" });
    const byId = await t.request({ method: "GET", url: `${V2}/service/${byName.json().id}` });
    expect(byId.json()).toMatchObject({ name: service });
    const all = await t.request({ method: "GET", url: `${V2}/service` });
    expect(all.json().map((s: { name: string }) => s.name)).toContain(service);
    const missing = await t.request({ method: "GET", url: `${V2}/service/name/${uniqueName("none")}` });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ statusCode: 1, msgDesc: expect.stringContaining("not found") });
  });

  it("creates, reads, searches, applies, updates and deletes policies in Ranger's JSON", async () => {
    const service = await newService();
    const name = uniqueName("orders");
    const created = await t.request({
      method: "POST",
      url: `${V2}/policy`,
      payload: policyBody(service, name, "orders", [
        { users: ["alice"], accesses: [{ type: "select", isAllowed: true }] },
      ]),
    });
    expect(created.statusCode, created.body).toBe(200);
    const policy = created.json();
    expect(policy).toMatchObject({ id: expect.any(Number), service, name, version: 1 });

    expect((await t.request({ method: "GET", url: `${V2}/policy/${policy.id}` })).json()).toMatchObject({
      id: policy.id,
      name,
    });
    const byName = await t.request({ method: "GET", url: `${V2}/service/${service}/policy/${name}` });
    expect(byName.json()).toMatchObject({ id: policy.id });

    // a second create of the same name is Ranger's error body
    const again = await t.request({
      method: "POST",
      url: `${V2}/policy`,
      payload: policyBody(service, name, "customers", [{ users: ["alice"], accesses: [{ type: "select" }] }]),
    });
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ statusCode: 1, msgDesc: expect.stringContaining(name) });
    // Nx1's remedy (overwrite=true) is for Nx1 clients only
    expect(again.json().msgDesc).not.toContain("overwrite");

    // apply: same resources, another name and principal: merged into the existing policy
    const applied = await t.request({
      method: "POST",
      url: `${V2}/policy/apply`,
      payload: policyBody(service, uniqueName("other"), "orders", [
        {
          users: ["bob"],
          accesses: [
            { type: "select", isAllowed: true },
            { type: "update", isAllowed: true },
          ],
        },
      ]),
    });
    expect(applied.statusCode, applied.body).toBe(200);
    expect(applied.json()).toMatchObject({ id: policy.id, name, version: 2 });
    expect(applied.json().policyItems).toEqual([
      expect.objectContaining({ users: ["alice"], accesses: [{ type: "select", isAllowed: true }] }),
      expect.objectContaining({
        users: ["bob"],
        accesses: [
          { type: "select", isAllowed: true },
          { type: "update", isAllowed: true },
        ],
      }),
    ]);

    // search: by user, by resource, by name, paged
    const bob = await t.request({ method: "GET", url: `${V2}/service/${service}/policy?user=bob` });
    expect(bob.json().map((p: { id: number }) => p.id)).toEqual([policy.id]);
    const table = await t.request({
      method: "GET",
      url: `${V2}/service/${service}/policy?resource:database=sales&resource:table=orders`,
    });
    expect(table.json().map((p: { id: number }) => p.id)).toEqual([policy.id]);
    const second = await t.request({
      method: "POST",
      url: `${V2}/policy`,
      payload: policyBody(service, uniqueName("customers"), "customers", [
        { groups: ["eng"], accesses: [{ type: "select" }] },
      ]),
    });
    expect(second.statusCode, second.body).toBe(200);
    const all = await t.request({ method: "GET", url: `${V2}/policy?serviceName=${service}` });
    expect(all.json().map((p: { id: number }) => p.id)).toEqual([policy.id, second.json().id]);
    const paged = await t.request({
      method: "GET",
      url: `${V2}/policy?serviceName=${service}&startIndex=1&pageSize=1`,
    });
    expect(paged.json().map((p: { id: number }) => p.id)).toEqual([second.json().id]);
    const exact = await t.request({ method: "GET", url: `${V2}/policy?serviceName=${service}&policyName=${name}` });
    expect(exact.json().map((p: { id: number }) => p.id)).toEqual([policy.id]);
    const bad = await t.request({ method: "GET", url: `${V2}/service/${service}/policy?isEnabled=maybe` });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().msgDesc).toContain("query.isEnabled");

    // updateIfExists by name replaces the policy
    const replaced = await t.request({
      method: "POST",
      url: `${V2}/policy?updateIfExists=true&policyMatchingAlgorithm=matchByName`,
      payload: policyBody(service, name, "orders", [{ users: ["carol"], accesses: [{ type: "select" }] }]),
    });
    expect(replaced.statusCode, replaced.body).toBe(200);
    expect(replaced.json()).toMatchObject({
      id: policy.id,
      version: 3,
      policyItems: [expect.objectContaining({ users: ["carol"] })],
    });

    // PUT by id: the body's id must match the path
    const mismatch = await t.request({
      method: "PUT",
      url: `${V2}/policy/${policy.id}`,
      payload: { ...(replaced.json() as object), id: policy.id + 1000 },
    });
    expect(mismatch.statusCode).toBe(400);
    expect(mismatch.json().msgDesc).toContain("body.id");
    const put = await t.request({
      method: "PUT",
      url: `${V2}/policy/${policy.id}`,
      payload: { ...(replaced.json() as object), description: "owned by sales" },
    });
    expect(put.statusCode, put.body).toBe(200);
    expect(put.json()).toMatchObject({ description: "owned by sales", version: 4 });
    const putByName = await t.request({
      method: "PUT",
      url: `${V2}/service/${service}/policy/${name}`,
      payload: { ...(put.json() as object), isEnabled: false },
    });
    expect(putByName.statusCode, putByName.body).toBe(200);
    expect(putByName.json()).toMatchObject({ isEnabled: false, version: 5 });

    // deletes: by service and name, then by id
    const byQuery = await t.request({
      method: "DELETE",
      url: `${V2}/policy?servicename=${service}&policyname=${name}`,
    });
    expect(byQuery.statusCode).toBe(204);
    const gone = await t.request({ method: "GET", url: `${V2}/policy/${policy.id}` });
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ statusCode: 1, msgDesc: expect.stringContaining(String(policy.id)) });
    expect((await t.request({ method: "DELETE", url: `${V2}/policy/${second.json().id}` })).statusCode).toBe(204);
    expect((await t.request({ method: "GET", url: `${V2}/policy?serviceName=${service}` })).json()).toEqual([]);
  });

  it("validates like the native API, naming the field, in Ranger's error body", async () => {
    const service = await newService();
    const noService = await t.request({
      method: "POST",
      url: `${V2}/policy`,
      payload: { name: uniqueName("p"), resources: { database: { values: ["x"] } } },
    });
    expect(noService.statusCode).toBe(400);
    expect(noService.json().msgDesc).toContain("body.service");
    const badAccess = await t.request({
      method: "POST",
      url: `${V2}/policy`,
      payload: policyBody(service, uniqueName("p"), "t", [{ users: ["alice"], accesses: [{ type: "fly" }] }]),
    });
    expect(badAccess.statusCode).toBe(400);
    expect(badAccess.json()).toMatchObject({ statusCode: 1, msgDesc: expect.stringContaining("fly") });
    expect(badAccess.json().messageList.length).toBeGreaterThan(0);
    const both = await t.request({
      method: "POST",
      url: `${V2}/policy?updateIfExists=true&mergeIfExists=true`,
      payload: policyBody(service, uniqueName("p"), "t", [{ users: ["alice"], accesses: [{ type: "select" }] }]),
    });
    expect(both.statusCode).toBe(400);
    const anonymous = await t.request({ method: "GET", url: `${V2}/policy`, headers: { "authorization-psk": "" } });
    expect(anonymous.statusCode).toBe(401);
  });

  it("reads roles as plugins receive them, a user's roles, and security zones", async () => {
    const role = (
      await t.request({ method: "POST", url: "/v1/roles", payload: { name: uniqueName("stewards") } })
    ).json();
    const group = (await t.request({ method: "POST", url: "/v1/groups", payload: { name: uniqueName("eng") } })).json();
    const user = (
      await t.request({ method: "POST", url: "/v1/users", payload: { username: uniqueName("dana") } })
    ).json();
    expect((await t.request({ method: "PUT", url: `/v1/groups/${group.id}/members/${user.id}` })).statusCode).toBe(201);
    const bound = await t.request({
      method: "POST",
      url: "/v1/role-bindings",
      payload: { roleId: role.id, principal: { type: "group", id: group.id } },
    });
    expect(bound.statusCode, bound.body).toBe(201);

    const byName = await t.request({ method: "GET", url: `${V2}/roles/name/${role.name}` });
    expect(byName.statusCode, byName.body).toBe(200);
    expect(byName.json()).toMatchObject({ name: role.name, groups: [{ name: group.name, isAdmin: false }], users: [] });
    const byId = await t.request({ method: "GET", url: `${V2}/roles/${byName.json().id}` });
    expect(byId.json()).toMatchObject({ name: role.name });
    expect((await t.request({ method: "GET", url: `${V2}/roles/names` })).json()).toContain(role.name);
    expect(
      (await t.request({ method: "GET", url: `${V2}/roles` })).json().map((r: { name: string }) => r.name),
    ).toContain(role.name);
    const mine = await t.request({ method: "GET", url: `${V2}/roles/user/${user.username}` });
    expect(mine.json()).toContain(role.name);
    const nobody = await t.request({ method: "GET", url: `${V2}/roles/user/${uniqueName("ghost")}` });
    expect(nobody.statusCode).toBe(404);
    expect(nobody.json()).toMatchObject({ statusCode: 1, code: "USER_NOT_FOUND" });

    const service = await newService();
    const zoneName = uniqueName("zone");
    const zone = await t.request({
      method: "POST",
      url: "/v1/zones",
      payload: { name: zoneName, services: { [service]: { resources: [{ database: ["finance"] }] } } },
    });
    expect(zone.statusCode, zone.body).toBe(201);
    const zoneByName = await t.request({ method: "GET", url: `${V2}/zones/name/${zoneName}` });
    expect(zoneByName.json()).toMatchObject({
      name: zoneName,
      services: { [service]: { resources: [{ database: ["finance"] }] } },
    });
    const zoneById = await t.request({ method: "GET", url: `${V2}/zones/${zoneByName.json().id}` });
    expect(zoneById.json()).toMatchObject({ name: zoneName });
    expect(
      (await t.request({ method: "GET", url: `${V2}/zones` })).json().map((z: { name: string }) => z.name),
    ).toContain(zoneName);
    expect((await t.request({ method: "GET", url: `${V2}/zones/999999` })).statusCode).toBe(404);
  });
});
