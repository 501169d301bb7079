import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bindBuiltinRole, uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { seedService } from "../decisions/test-seed.ts";
import { RANGER_V2 } from "../ranger/admin/policies.routes.ts";
import { asAdministrator, type Caller, callAs, userWithKey as userWithKeyIn } from "./zone-test-seed.ts";

let t: TestApp;
let s: Awaited<ReturnType<typeof seedService>>;
/** The zone under test (catalog `sales`) and another zone (catalog `hr`) of the same service. */
let finance: string;
let hr: string;
/** Credentials (Authorization-PSK) of users without any built-in role, unless said otherwise. */
const as: Record<
  "direct" | "viaGroup" | "viaRole" | "auditor" | "unrelated" | "policyAdmin",
  Record<string, string>
> = {} as never;
let directName: string;

const admin = (method: "POST" | "PUT" | "PATCH" | "DELETE", url: string, payload?: unknown) =>
  asAdministrator(t, method, url, payload);

const userWithKey = () => userWithKeyIn(t);
const call = (who: Caller, method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE", url: string, payload?: unknown) =>
  callAs(t, who, method, url, payload);

/** A policy body on `sales.<schema>.*` granting `user` select, in `zone` ("" = default zone). */
function salesPolicy(zone: string, user: string, schema = uniqueName("sch")) {
  return {
    name: uniqueName("p"),
    ...(zone ? { zoneName: zone } : {}),
    resources: {
      catalog: { values: [zone === hr ? "hr" : "sales"] },
      schema: { values: [schema] },
      table: { values: ["*"] },
    },
    policyItems: [{ users: [user], accesses: [{ type: "select" }] }],
  };
}

async function decide(user: string, catalog: string, schema: string) {
  const res = await t.request({
    method: "POST",
    url: "/v1/decisions",
    payload: { service: s.service, user, resource: { catalog, schema, table: "orders" }, accessType: "select" },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { allowed: boolean; policyId: number };
}

beforeAll(async () => {
  t = await testApp();
  s = await seedService(t);
  const direct = await userWithKey();
  directName = direct.username;
  const viaGroup = await userWithKey();
  const viaRole = await userWithKey();
  const auditor = await userWithKey();
  const unrelated = await userWithKey();
  const policyAdmin = await userWithKey();
  const orgId = (
    await t.db.kysely.selectFrom("users").select("org_id").where("id", "=", policyAdmin.id).executeTakeFirstOrThrow()
  ).org_id;
  await bindBuiltinRole(t.db, policyAdmin.id, orgId, "policy-admin");
  const stewards = await admin("POST", "/v1/groups", { name: uniqueName("fin-admins") });
  await admin("PUT", `/v1/groups/${stewards.id}/members/${viaGroup.id}`);
  const role = await admin("POST", "/v1/roles", { name: uniqueName("fin-role") });
  await admin("POST", "/v1/role-bindings", { roleId: role.id, principal: { type: "user", id: viaRole.id } });
  finance = uniqueName("finance");
  hr = uniqueName("hr");
  await admin("POST", "/v1/zones", {
    name: finance,
    services: { [s.service]: { resources: [{ catalog: ["sales"] }] } },
    adminUsers: [direct.username],
    adminUserGroups: [stewards.name],
    adminRoles: [role.name],
    auditUsers: [auditor.username],
  });
  await admin("POST", "/v1/zones", {
    name: hr,
    services: { [s.service]: { resources: [{ catalog: ["hr"] }] } },
    adminUsers: ["someone-else"],
  });
  Object.assign(as, {
    direct: direct.headers,
    viaGroup: viaGroup.headers,
    viaRole: viaRole.headers,
    auditor: auditor.headers,
    unrelated: unrelated.headers,
    policyAdmin: policyAdmin.headers,
  });
});
afterAll(() => t.app.close());

describe(`security zone administrators (${TEST_BACKEND})`, () => {
  it("lets a zone admin without roles create, change and delete its zone's policies through /v1; decisions and audit follow", async () => {
    const schema = uniqueName("sch");
    const created = await call(
      as.direct,
      "POST",
      `/v1/services/${s.service}/policies`,
      salesPolicy(finance, s.bob, schema),
    );
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id as number;
    expect(await decide(s.bob, "sales", schema)).toMatchObject({ allowed: true, policyId: id });

    const body = { ...created.json(), description: "changed by the zone admin" };
    const put = await call(as.direct, "PUT", `/v1/services/${s.service}/policies/${id}`, body);
    expect(put.statusCode, put.body).toBe(200);
    const patch = await call(as.direct, "PATCH", `/v1/services/${s.service}/policies/${id}`, { description: "again" });
    expect(patch.statusCode, patch.body).toBe(200);
    const disabled = await call(as.direct, "POST", `/v1/services/${s.service}/policies/${id}/disable`);
    expect(disabled.statusCode, disabled.body).toBe(200);
    expect((await decide(s.bob, "sales", schema)).allowed).toBe(false);
    const reverted = await call(as.direct, "POST", `/v1/policies/${id}/revert`, { version: 1 });
    expect(reverted.statusCode, reverted.body).toBe(200);
    expect(await decide(s.bob, "sales", schema)).toMatchObject({ allowed: true, policyId: id });
    const read = await call(as.direct, "GET", `/v1/policies/${id}/versions`);
    expect(read.statusCode, read.body).toBe(200);

    const deleted = await call(as.direct, "DELETE", `/v1/services/${s.service}/policies/${id}`);
    expect(deleted.statusCode, deleted.body).toBe(204);
    expect((await decide(s.bob, "sales", schema)).allowed).toBe(false);

    const events = await t.db.kysely
      .selectFrom("audit_events")
      .select(["action", "actor_name", "actor_type"])
      .where("target_type", "=", "policy")
      .where("target_id", "=", String(id))
      .orderBy("id")
      .execute();
    expect(events.map((e) => e.action)).toEqual([
      "policy.created",
      "policy.updated",
      "policy.updated",
      "policy.updated",
      "policy.updated",
      "policy.deleted",
    ]);
    expect(new Set(events.map((e) => `${e.actor_type}:${e.actor_name}`))).toEqual(new Set([`user:${directName}`]));
  });

  it("admits zone admins through a group and through a role", async () => {
    for (const who of [as.viaGroup, as.viaRole]) {
      const schema = uniqueName("sch");
      const res = await call(who, "POST", `/v1/services/${s.service}/policies`, salesPolicy(finance, s.alice, schema));
      expect(res.statusCode, res.body).toBe(201);
      expect(await decide(s.alice, "sales", schema)).toMatchObject({ allowed: true, policyId: res.json().id });
      const gone = await call(who, "DELETE", `/v1/services/${s.service}/policies/${res.json().id}`);
      expect(gone.statusCode, gone.body).toBe(204);
    }
  });

  it("refuses a zone admin policies outside its zone, and moving a policy out of or into its zone", async () => {
    const outside = await call(as.direct, "POST", `/v1/services/${s.service}/policies`, salesPolicy("", s.bob));
    expect(outside.statusCode, outside.body).toBe(403);
    expect(outside.json()).toMatchObject({ code: "FORBIDDEN", meta: { zone: "", rule: "zoneAdmin" } });
    expect(outside.json().message).toContain("outside security zones");

    const other = await call(as.direct, "POST", `/v1/services/${s.service}/policies`, salesPolicy(hr, s.bob));
    expect(other.statusCode, other.body).toBe(403);
    expect(other.json().message).toContain(`security zone \`${hr}\``);
    expect(other.json().meta).toMatchObject({ zone: hr });

    // A zone policy may not leave the zone (to the default zone or another zone).
    const mine = await call(as.direct, "POST", `/v1/services/${s.service}/policies`, salesPolicy(finance, s.bob));
    expect(mine.statusCode, mine.body).toBe(201);
    const { zoneName: _zone, ...withoutZone } = mine.json();
    const out = await call(as.direct, "PUT", `/v1/services/${s.service}/policies/${mine.json().id}`, withoutZone);
    expect(out.statusCode, out.body).toBe(403);
    const moved = await call(as.direct, "PATCH", `/v1/services/${s.service}/policies/${mine.json().id}`, {
      zoneName: hr,
    });
    expect(moved.statusCode, moved.body).toBe(403);

    // Nor may a policy of the default zone or of another zone be changed, moved in or deleted: the
    // zone admin may not even read them, so it is answered as for a missing policy
    // (zone-existence.test.ts compares the two answers).
    const theirs = await admin("POST", `/v1/services/${s.service}/policies`, salesPolicy(hr, s.bob));
    const base = s.policy;
    for (const [method, url, payload] of [
      ["PATCH", `/v1/services/${s.service}/policies/${theirs.id}`, { description: "x" }],
      ["PATCH", `/v1/services/${s.service}/policies/${base.id}`, { zoneName: finance }],
      ["POST", `/v1/services/${s.service}/policies/${base.id}/disable`, undefined],
      ["DELETE", `/v1/services/${s.service}/policies/${theirs.id}`, undefined],
      ["DELETE", `/v1/services/${s.service}/policies/${base.id}`, undefined],
      ["POST", `/v1/policies/${base.id}/revert`, { version: 1 }],
    ] as const) {
      const res = await call(as.direct, method, url, payload);
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(404);
      expect(res.json().code).toBe("POLICY_NOT_FOUND");
    }
    const still = await t.request({ method: "GET", url: `/v1/services/${s.service}/policies/${theirs.id}` });
    expect(still.json().zoneName).toBe(hr);
  });

  it("lets a zone admin manage its zone's policies through the Ranger v2 API, and nothing outside", async () => {
    const schema = uniqueName("sch");
    const created = await call(as.direct, "POST", `${RANGER_V2}/policy`, {
      ...salesPolicy(finance, s.bob, schema),
      service: s.service,
    });
    expect(created.statusCode, created.body).toBe(200);
    const id = created.json().id as number;
    expect(await decide(s.bob, "sales", schema)).toMatchObject({ allowed: true, policyId: id });
    const got = await call(as.direct, "GET", `${RANGER_V2}/policy/${id}`);
    expect(got.statusCode, got.body).toBe(200);
    const replaced = await call(as.direct, "PUT", `${RANGER_V2}/policy/${id}`, {
      ...(got.json() as object),
      description: "v2",
    });
    expect(replaced.statusCode, replaced.body).toBe(200);
    const applied = await call(as.direct, "POST", `${RANGER_V2}/policy/apply`, {
      ...salesPolicy(finance, s.alice, schema),
      service: s.service,
    });
    expect(applied.statusCode, applied.body).toBe(200);
    expect(applied.json().id).toBe(id);
    expect(await decide(s.alice, "sales", schema)).toMatchObject({ allowed: true, policyId: id });

    const outside = await call(as.direct, "POST", `${RANGER_V2}/policy`, {
      ...salesPolicy("", s.bob),
      service: s.service,
    });
    expect(outside.statusCode, outside.body).toBe(403);
    expect(outside.json()).toMatchObject({ statusCode: 1 });
    expect(outside.json().msgDesc).toContain("outside security zones");
    const out = await call(as.direct, "PUT", `${RANGER_V2}/policy/${id}`, {
      ...(replaced.json() as object),
      zoneName: "",
    });
    expect(out.statusCode, out.body).toBe(403);
    const base = await call(as.direct, "DELETE", `${RANGER_V2}/policy/${s.policy.id}`);
    expect(base.statusCode, base.body).toBe(404);

    const deleted = await call(
      as.direct,
      "DELETE",
      `${RANGER_V2}/policy?servicename=${s.service}&policyname=${created.json().name}&zoneName=${finance}`,
    );
    expect(deleted.statusCode, deleted.body).toBe(204);
    expect((await decide(s.bob, "sales", schema)).allowed).toBe(false);
  });

  it("lets a zone auditor read the zone's policies and nothing else, and write none", async () => {
    const zoned = await admin("POST", `/v1/services/${s.service}/policies`, salesPolicy(finance, s.bob));
    const one = await call(as.auditor, "GET", `/v1/services/${s.service}/policies/${zoned.id}`);
    expect(one.statusCode, one.body).toBe(200);
    expect((await call(as.auditor, "GET", `/v1/policies/${zoned.id}/versions`)).statusCode).toBe(200);
    expect((await call(as.auditor, "GET", `${RANGER_V2}/policy/${zoned.id}`)).statusCode).toBe(200);

    const listed = await call(as.auditor, "GET", `/v1/services/${s.service}/policies?limit=100`);
    expect(listed.statusCode, listed.body).toBe(200);
    const zones = new Set(listed.json().items.map((p: { zoneName?: string }) => p.zoneName ?? ""));
    expect(zones).toEqual(new Set([finance]));
    const ranger = await call(as.auditor, "GET", `${RANGER_V2}/service/${s.service}/policy`);
    expect(ranger.statusCode, ranger.body).toBe(200);
    expect(new Set(ranger.json().map((p: { zoneName?: string }) => p.zoneName ?? ""))).toEqual(new Set([finance]));
    expect((await call(as.auditor, "GET", `/v1/services/${s.service}/policies?zoneName=${hr}`)).statusCode).toBe(403);

    const base = await call(as.auditor, "GET", `/v1/services/${s.service}/policies/${s.policy.id}`);
    expect(base.statusCode, base.body).toBe(404);
    expect(base.json().code).toBe("POLICY_NOT_FOUND");
    const write = await call(as.auditor, "POST", `/v1/services/${s.service}/policies`, salesPolicy(finance, s.bob));
    expect(write.statusCode, write.body).toBe(403);
    const change = await call(as.auditor, "PATCH", `/v1/services/${s.service}/policies/${zoned.id}`, {
      description: "x",
    });
    expect(change.statusCode, change.body).toBe(403);
    expect((await call(as.auditor, "DELETE", `${RANGER_V2}/policy/${zoned.id}`)).statusCode).toBe(403);
  });

  it("refuses a user that is neither a zone admin nor auditor, reads and writes alike", async () => {
    for (const [method, url, payload] of [
      ["GET", `/v1/services/${s.service}/policies`, undefined],
      ["GET", `/v1/services/${s.service}/policies/${s.policy.id}`, undefined],
      ["POST", `/v1/services/${s.service}/policies`, salesPolicy(finance, s.bob)],
      ["POST", `${RANGER_V2}/policy`, { ...salesPolicy(finance, s.bob), service: s.service }],
      ["GET", `${RANGER_V2}/policy`, undefined],
    ] as const) {
      const res = await call(as.unrelated, method, url, payload);
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(403);
    }
  });

  it("keeps today's rule for callers with policy.write: any zone, and the default zone", async () => {
    for (const zone of ["", hr, finance]) {
      const res = await call(as.policyAdmin, "POST", `/v1/services/${s.service}/policies`, salesPolicy(zone, s.bob));
      expect(res.statusCode, res.body).toBe(201);
    }
  });

  it("checks bulk imports row by row and refuses replace imports to zone admins", async () => {
    const inZone = salesPolicy(finance, s.bob);
    const outside = salesPolicy("", s.bob);
    const mixed = await call(as.direct, "POST", `/v1/services/${s.service}/import`, { policies: [inZone, outside] });
    expect(mixed.statusCode, mixed.body).toBe(200);
    expect(mixed.json()).toMatchObject({ applied: false, failed: [{ index: 1, name: outside.name }] });
    expect(mixed.json().failed[0].error).toContain("outside security zones");
    const good = await call(as.direct, "POST", `/v1/services/${s.service}/import`, { policies: [inZone] });
    expect(good.json()).toMatchObject({ applied: true, created: [inZone.name] });
    const replace = await call(as.direct, "POST", `/v1/services/${s.service}/import?mode=replace`, {
      policies: [inZone],
    });
    expect(replace.statusCode, replace.body).toBe(403);
  });

  it("opens nothing else to zone admins: services, users, groups, creating and deleting zones, exports stay refused", async () => {
    for (const [method, url, payload] of [
      ["POST", "/v1/services", { name: uniqueName("svc"), type: "trino" }],
      ["POST", "/v1/users", { username: uniqueName("u") }],
      ["POST", "/v1/groups", { name: uniqueName("g") }],
      ["POST", "/v1/zones", { name: uniqueName("z"), services: { [s.service]: { resources: [{ catalog: ["x"] }] } } }],
      ["PATCH", `/v1/zones/${finance}`, { description: "ours now" }],
      ["DELETE", `/v1/zones/${finance}`, undefined],
      ["DELETE", `${RANGER_V2}/zones/name/${finance}`, undefined],
      ["GET", `/v1/services/${s.service}/export`, undefined],
      ["GET", `/v1/services/${s.service}/policy-deltas`, undefined],
    ] as const) {
      const res = await call(as.direct, method, url, payload);
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(403);
    }
  });

  it("declares zone admission on policy routes (simulations included) and on reading and changing one zone only", () => {
    const admitted = t.app.routeCatalogue
      .filter((r) => (r.config as { delegatedAdmission?: unknown } | undefined)?.delegatedAdmission)
      .map((r) => `${r.method} ${r.url}`);
    expect(admitted.length).toBeGreaterThan(10);
    const policyRoute =
      /^(GET|HEAD|POST|PUT|PATCH|DELETE) (\/v1\/services\/:service\/(policies|import|simulations|resource-values)|\/v1\/policies\/|\/service\/public\/v2\/api\/(policy|service\/:serviceName\/policy))/;
    const zoneRoutes = admitted.filter((r) => !policyRoute.test(r)).sort();
    expect(zoneRoutes).toEqual(
      [
        "GET /v1/zones/:name",
        "HEAD /v1/zones/:name",
        "PATCH /v1/zones/:name",
        `GET ${RANGER_V2}/zones/:id`,
        `HEAD ${RANGER_V2}/zones/:id`,
        `PUT ${RANGER_V2}/zones/:id`,
        `GET ${RANGER_V2}/zones/name/:name`,
        `HEAD ${RANGER_V2}/zones/name/:name`,
        `GET ${RANGER_V2}/zones-v2/:id`,
        `HEAD ${RANGER_V2}/zones-v2/:id`,
        `PUT ${RANGER_V2}/zones-v2/:id`,
        `PUT ${RANGER_V2}/zones-v2/:id/partial`,
        `GET ${RANGER_V2}/zones-v2/name/:name`,
        `HEAD ${RANGER_V2}/zones-v2/name/:name`,
        `GET ${RANGER_V2}/zones-v2/:id/resources/:serviceName`,
        `HEAD ${RANGER_V2}/zones-v2/:id/resources/:serviceName`,
        `GET ${RANGER_V2}/zones-v2/name/:name/resources/:serviceName`,
        `HEAD ${RANGER_V2}/zones-v2/name/:name/resources/:serviceName`,
      ].sort(),
    );
  });
});
