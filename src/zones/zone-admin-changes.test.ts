import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { RANGER_V2 } from "../ranger/admin/policies.routes.ts";
import { asAdministrator, type Caller, callAs, userWithKey } from "./zone-test-seed.ts";

let t: TestApp;
let svc: string;
let otherSvc: string;
let tagSvc: string;
let zoe: { username: string; headers: Caller };
let audrey: Caller;
let audreyName: string;
/** The zone `zoe` administers and `audrey` audits, re-created for each test. */
let zone: { id: number; name: string };
/** A zone `zoe` only audits. */
let audited: string;

/** The zone as stored, read as the administrator. */
const stored = () => asAdministrator(t, "GET", `/v1/zones/${zone.name}`);

/** The zone's audit events, oldest first. */
async function zoneEvents() {
  return t.db.kysely
    .selectFrom("audit_events")
    .select(["action", "actor_name", "before", "after"])
    .where("target_type", "=", "zone")
    .where("target_id", "=", String(zone.id))
    .orderBy("id")
    .execute();
}

/** Ranger's full zone body (the v2 PUT replaces the zone whole) from the stored zone, with `changes`. */
async function rangerBody(changes: Record<string, unknown>) {
  const z = await stored();
  return {
    id: z.id,
    name: z.name,
    description: z.description,
    services: z.services,
    tagServices: z.tagServices,
    adminUsers: z.adminUsers,
    adminUserGroups: z.adminUserGroups,
    adminRoles: z.adminRoles,
    auditUsers: z.auditUsers,
    auditUserGroups: z.auditUserGroups,
    auditRoles: z.auditRoles,
    ...changes,
  };
}

beforeAll(async () => {
  t = await testApp();
  svc = uniqueName("svc");
  otherSvc = uniqueName("svc");
  tagSvc = uniqueName("tags");
  for (const [name, type] of [
    [svc, "trino"],
    [otherSvc, "trino"],
    [tagSvc, "tag"],
  ]) {
    await asAdministrator(t, "POST", "/v1/services", { name, type });
  }
  const z = await userWithKey(t);
  zoe = { username: z.username, headers: z.headers };
  const a = await userWithKey(t);
  audrey = a.headers;
  audreyName = a.username;
  audited = uniqueName("audited");
  await asAdministrator(t, "POST", "/v1/zones", {
    name: audited,
    services: { [svc]: { resources: [{ catalog: ["ops"] }] } },
    auditUsers: [z.username],
  });
  // zoe administers one more zone, so she is admitted to the zone routes whatever the test zone says.
  await asAdministrator(t, "POST", "/v1/zones", {
    name: uniqueName("home"),
    services: { [otherSvc]: { resources: [{ catalog: ["home"] }] } },
    adminUsers: [z.username],
  });
});
beforeEach(async () => {
  const name = uniqueName("zone");
  const created = await asAdministrator(t, "POST", "/v1/zones", {
    name,
    description: "the finance team's data",
    services: { [svc]: { resources: [{ catalog: [`sales-${name}`] }] } },
    tagServices: [tagSvc],
    adminUsers: [zoe.username],
    auditUsers: [audreyName],
  });
  zone = { id: created.id, name };
});
afterAll(() => t.app.close());

describe(`a zone administrator changes its own zone as Ranger allows (${TEST_BACKEND})`, () => {
  it("reads its zone, and changes its admin and audit lists through PATCH /v1/zones, audited as itself", async () => {
    const read = await callAs(t, zoe.headers, "GET", `/v1/zones/${zone.name}`);
    expect(read.statusCode, read.body).toBe(200);
    expect((await callAs(t, audrey, "GET", `${RANGER_V2}/zones/${zone.id}`)).statusCode).toBe(200);
    const before = await stored();

    // No `public` in these lists: zones outlive the test on PostgreSQL, and one naming `public`
    // would make every user of every other test a zone member.
    const lists = {
      adminUsers: [zoe.username, "friend"],
      adminUserGroups: ["finance-admins"],
      adminRoles: ["finance-role"],
      auditUsers: ["auditor-2"],
      auditUserGroups: ["finance-auditors"],
      auditRoles: ["auditing"],
    };
    // Fields given with their stored values are no change, so they pass too.
    const res = await callAs(t, zoe.headers, "PATCH", `/v1/zones/${zone.name}`, {
      ...lists,
      name: zone.name,
      description: before.description,
      services: before.services,
      tagServices: before.tagServices,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ ...lists, updatedBy: zoe.username, services: before.services });
    expect(await stored()).toMatchObject(lists);

    const events = await zoneEvents();
    const last = events.at(-1);
    expect(last).toMatchObject({
      action: "zone.updated",
      actor_name: zoe.username,
      before: { auditUsers: before.auditUsers },
      after: { auditUsers: ["auditor-2"] },
    });
  });

  it("changes its lists through the Ranger v2 PUT, which replaces the zone whole", async () => {
    const body = await rangerBody({ auditUsers: ["auditor-3"], adminUserGroups: ["stewards"] });
    const res = await callAs(t, zoe.headers, "PUT", `${RANGER_V2}/zones/${zone.id}`, body);
    expect(res.statusCode, res.body).toBe(200);
    expect(await stored()).toMatchObject({ auditUsers: ["auditor-3"], adminUserGroups: ["stewards"] });
    expect((await zoneEvents()).at(-1)).toMatchObject({ action: "zone.updated", actor_name: zoe.username });
  });

  it("may not change the name, description, services, resources or tag services, through either route", async () => {
    const before = await stored();
    const eventsBefore = (await zoneEvents()).length;
    const refused: [string, Record<string, unknown>][] = [
      ["body.name", { name: `${zone.name}-renamed` }],
      ["body.description", { description: "ours now" }],
      [`body.services.${svc}.resources`, { services: { [svc]: { resources: [{ catalog: ["everything"] }] } } }],
      [
        `body.services.${otherSvc}`,
        { services: { ...before.services, [otherSvc]: { resources: [{ catalog: ["x"] }] } } },
      ],
      [`body.services.${svc}`, { services: {} }],
      ["body.tagServices", { tagServices: [] }],
    ];
    for (const [field, patch] of refused) {
      for (const [method, url, payload] of [
        ["PATCH", `/v1/zones/${zone.name}`, { ...patch, adminUsers: [zoe.username, "sneaked-in"] }],
        ["PUT", `${RANGER_V2}/zones/${zone.id}`, await rangerBody(patch)],
      ] as const) {
        const res = await callAs(t, zoe.headers, method, url, payload);
        expect(res.statusCode, `${method} ${JSON.stringify(patch)}: ${res.body}`).toBe(403);
        const detail = method === "PATCH" ? res.json().details : res.json().messageList;
        const fields = (detail as { field?: string; rbKey?: string }[]).map((d) => d.field ?? d.rbKey);
        expect(fields, res.body).toContain(field);
      }
    }
    // A Ranger PUT that leaves a list out empties it: allowed for the lists, refused for services.
    const partial = await callAs(t, zoe.headers, "PUT", `${RANGER_V2}/zones/${zone.id}`, {
      name: zone.name,
      description: before.description,
    });
    expect(partial.statusCode, partial.body).toBe(403);
    expect(partial.json().msgDesc).toContain("a zone administrator changes only the zone's admin and audit lists");

    expect(await stored()).toEqual(before);
    expect((await zoneEvents()).length).toBe(eventsBefore);
  });

  it("may neither create nor delete zones, nor change a zone it only audits or has no part in", async () => {
    const create = await callAs(t, zoe.headers, "POST", "/v1/zones", {
      name: uniqueName("z"),
      services: { [otherSvc]: { resources: [{ catalog: ["x"] }] } },
      adminUsers: [zoe.username],
    });
    expect(create.statusCode, create.body).toBe(403);
    for (const [method, url] of [
      ["DELETE", `/v1/zones/${zone.name}`],
      ["DELETE", `${RANGER_V2}/zones/${zone.id}`],
      ["DELETE", `${RANGER_V2}/zones/name/${zone.name}`],
    ] as const) {
      const res = await callAs(t, zoe.headers, method, url);
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(403);
    }
    const onAudited = await callAs(t, zoe.headers, "PATCH", `/v1/zones/${audited}`, { auditUsers: ["x"] });
    expect(onAudited.statusCode, onAudited.body).toBe(403);
    expect(onAudited.json()).toMatchObject({ code: "FORBIDDEN", meta: { zone: audited, rule: "zoneAdmin" } });
    // audrey administers no zone at all: the route refuses her before looking at any zone.
    const byAuditor = await callAs(t, audrey, "PATCH", `/v1/zones/${zone.name}`, { auditUsers: ["x"] });
    expect(byAuditor.statusCode, byAuditor.body).toBe(403);
    expect((await stored()).auditUsers).toEqual([audreyName]);
  });

  it("reads its rights anew on each request: an administrator that removes itself loses the zone", async () => {
    const leave = await callAs(t, zoe.headers, "PATCH", `/v1/zones/${zone.name}`, { adminUsers: ["someone-else"] });
    expect(leave.statusCode, leave.body).toBe(200);
    const again = await callAs(t, zoe.headers, "PATCH", `/v1/zones/${zone.name}`, { adminUsers: [zoe.username] });
    // zoe still administers another zone, so she is admitted; this one she may no longer even read.
    expect(again.statusCode, again.body).toBe(404);
    expect(again.json().code).toBe("ZONE_NOT_FOUND");
    expect((await stored()).adminUsers).toEqual(["someone-else"]);
  });
});
