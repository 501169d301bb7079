import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { seedService } from "../decisions/test-seed.ts";

let t: TestApp;
let s: Awaited<ReturnType<typeof seedService>>;
let carol: string;
const nx1Name = uniqueName("nx1svc");

/** Logged decisions, as the decision audit writer would have written them over the last week. */
async function logDecision(
  user: string,
  groups: string[],
  resource: string,
  accessType = "select",
  policyType = 0,
  daysAgo = 2,
): Promise<void> {
  await sql`insert into decision_log (occurred_at, service, user_name, groups, roles, access_type, resource, policy_type, allowed, determined)
    values (now() - make_interval(days => ${daysAgo}), ${s.service}, ${user}, ${groups}, ${[]}, ${accessType}, ${resource}, ${policyType}, true, true)`.execute(
    t.db.kysely,
  );
}

async function simulate(payload: unknown) {
  const res = await t.request({
    method: "POST",
    url: `/v1/services/${s.service}/simulations`,
    payload: payload as object,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

beforeAll(async () => {
  t = await testApp({ GATEHOUSE_NX1_SERVICE: nx1Name });
  s = await seedService(t);
  // the Nx1 service is created with the app (config `nx1Service`)
  // carol is an analyst too; the log has a week of decisions by alice, carol and bob
  carol = uniqueName("carol");
  const c = (await t.request({ method: "POST", url: "/v1/users", payload: { username: carol } })).json();
  await t.request({ method: "PUT", url: `/v1/groups/${s.groupId}/members/${c.id}` });
  const orders = `catalog=sales/schema=${s.schema}/table=orders`;
  for (let day = 0; day < 7; day++) {
    await logDecision(s.alice, [s.analysts], orders, "select", 0, day);
    await logDecision(carol, [s.analysts], orders, "select", 0, day);
    await logDecision(s.bob, [], orders, "select", 0, day);
  }
  await logDecision(s.alice, [s.analysts], `${orders}/column=email`, "select", 1);
  // outside the 30-day window: never replayed
  await logDecision("ghost", [s.analysts], orders, "select", 0, 45);
});
afterAll(async () => {
  await t.app.close();
});

describe(`policy simulations (${TEST_BACKEND})`, () => {
  it("update: removing the group from the policy lists exactly the users who lose access", async () => {
    const r = await simulate({
      policies: {
        update: [
          {
            id: s.policy.id,
            policy: { ...s.policy, policyItems: [{ users: [s.alice], accesses: [{ type: "select" }] }] },
          },
        ],
      },
    });
    expect(r.draft).toMatchObject({ updated: [s.policy.id], created: [], deleted: [] });
    expect(r.replay).toMatchObject({ replayed: 4, changed: 1, newlyDenied: 1, newlyAllowed: 0, truncated: false });
    expect(r.replay.changes).toEqual([
      expect.objectContaining({
        user: carol,
        accessType: "select",
        direction: "newlyDenied",
        before: expect.objectContaining({ allowed: true, policyId: s.policy.id }),
        after: expect.objectContaining({ allowed: false, policyId: -1 }),
      }),
    ]);
    expect(r.noNewAccess).toMatchObject({ noNewAccess: true, complete: true });
    const diff = r.exposure.diffs.find((d: { resource: Record<string, string> }) => d.resource.table === "*");
    expect(diff.groups).toEqual([expect.objectContaining({ name: s.analysts, before: "allowed", after: null })]);
    expect(diff.users).toEqual([expect.objectContaining({ name: s.alice, before: null, after: "allowed" })]);
  });

  it("create: a broader policy is new access, with the counterexample, even on resources nobody asked for", async () => {
    const r = await simulate({
      policies: {
        create: [
          {
            name: uniqueName("broad"),
            resources: { catalog: { values: ["sales"] }, schema: { values: ["*"] }, table: { values: ["*"] } },
            policyItems: [{ users: [s.bob], accesses: [{ type: "select" }] }],
          },
        ],
      },
    });
    expect(r.replay).toMatchObject({ newlyAllowed: 1, newlyDenied: 0 });
    expect(r.replay.changes[0]).toMatchObject({ user: s.bob, direction: "newlyAllowed" });
    expect(r.noNewAccess.noNewAccess).toBe(false);
    const tables = r.noNewAccess.counterexamples.filter((c: { user: string }) => c.user === s.bob);
    expect(tables.length).toBeGreaterThan(0);
    // a schema no policy and no logged request names is covered by a made-up representative
    expect(tables.some((c: { resource: Record<string, string> }) => c.resource.schema !== s.schema)).toBe(true);
    expect(r.draft.created).toHaveLength(1);
  });

  it("delete and deny items: users lose access", async () => {
    const del = await simulate({ policies: { delete: [s.policy.id] } });
    expect(del.replay).toMatchObject({ newlyDenied: 2, newlyAllowed: 0 });
    expect(del.noNewAccess.noNewAccess).toBe(true);
    const deny = await simulate({
      policies: {
        create: [
          {
            name: uniqueName("deny"),
            resources: {
              catalog: { values: ["sales"] },
              schema: { values: [s.schema] },
              table: { values: ["orders"] },
            },
            denyPolicyItems: [{ users: [s.alice], accesses: [{ type: "select" }] }],
          },
        ],
      },
    });
    expect(deny.replay.changes).toEqual([expect.objectContaining({ user: s.alice, direction: "newlyDenied" })]);
    expect(deny.noNewAccess.noNewAccess).toBe(true);
  });

  it("membership change: adding bob to the group is new access for bob", async () => {
    const r = await simulate({ directory: { memberships: { add: [{ user: s.bob, group: s.analysts }] } } });
    expect(r.draft.directoryChanges).toBe(true);
    expect(r.replay.changes).toEqual([expect.objectContaining({ user: s.bob, direction: "newlyAllowed" })]);
    expect(r.noNewAccess.noNewAccess).toBe(false);
    expect(r.noNewAccess.counterexamples[0]).toMatchObject({ user: s.bob });
  });

  it("masking change: a new mask on a logged column request", async () => {
    const r = await simulate({
      policies: {
        create: [
          {
            name: uniqueName("mask"),
            policyType: 1,
            resources: {
              catalog: { values: ["sales"] },
              schema: { values: [s.schema] },
              table: { values: ["orders"] },
              column: { values: ["email"] },
            },
            dataMaskPolicyItems: [
              { groups: [s.analysts], accesses: [{ type: "select" }], dataMaskInfo: { dataMaskType: "MASK_HASH" } },
            ],
          },
        ],
      },
    });
    expect(r.replay).toMatchObject({ maskChanged: 1 });
    expect(r.replay.changes[0]).toMatchObject({
      user: s.alice,
      direction: "maskChanged",
      after: expect.objectContaining({ maskType: "MASK_HASH" }),
    });
  });

  it("pages a long replay instead of truncating it silently", async () => {
    const first = await simulate({ policies: { delete: [s.policy.id] }, replay: { limit: 3 } });
    expect(first.replay).toMatchObject({ replayed: 3, truncated: true });
    const next = await simulate({
      policies: { delete: [s.policy.id] },
      replay: { limit: 3, cursor: first.replay.nextCursor },
    });
    expect(next.replay).toMatchObject({ replayed: 1, truncated: false, nextCursor: null });
    expect(first.replay.newlyDenied + next.replay.newlyDenied).toBe(2);
  });

  it("continuation pages return the first page's exposure diff and verdict instead of computing them again", async () => {
    const draft = {
      policies: {
        create: [
          {
            name: uniqueName("paged"),
            resources: { catalog: { values: ["sales"] }, schema: { values: ["*"] }, table: { values: ["*"] } },
            policyItems: [{ users: [s.bob], accesses: [{ type: "select" }] }],
          },
        ],
      },
    };
    const first = await simulate({ ...draft, replay: { limit: 2 } });
    expect(first.replay).toMatchObject({ replayed: 2, truncated: true });
    expect(first.noNewAccess.noNewAccess).toBe(false);
    const next = await simulate({ ...draft, replay: { limit: 2, cursor: first.replay.nextCursor } });
    expect(next.replay).toMatchObject({ replayed: 2, truncated: false, nextCursor: null });
    // each call's rolled-back create takes another id: answers computed again would name it
    expect(next.draft.created).not.toEqual(first.draft.created);
    expect(next.noNewAccess).toEqual(first.noNewAccess);
    expect(next.exposure).toEqual(first.exposure);
    // another draft continuing the same cursor gets its own answers
    const other = await simulate({ policies: { delete: [s.policy.id] }, replay: { cursor: first.replay.nextCursor } });
    expect(other.noNewAccess).toMatchObject({ noNewAccess: true });
    expect(other.replay).toMatchObject({ replayed: 2, newlyDenied: 1 });
  });

  it("refuses a draft the write would refuse, naming the field", async () => {
    const res = await t.request({
      method: "POST",
      url: `/v1/services/${s.service}/simulations`,
      payload: { policies: { create: [{ name: uniqueName("bad"), resources: { nope: { values: ["x"] } } }] } },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain("body.policies.create[0]");
  });

  it("?simulate=true on a real update answers the simulation and writes nothing", async () => {
    const versionOf = async () =>
      (
        await t.db.kysely
          .selectFrom("services")
          .select("policy_version")
          .where("name", "=", s.service)
          .executeTakeFirstOrThrow()
      ).policy_version;
    // Other test files write audit events to a shared database: count only this test's requests.
    const requestId = uniqueName("simulate");
    const headers = { "x-request-id": requestId };
    const audits = async () =>
      Number(
        (
          await sql<{ n: string }>`select count(*) as n from audit_events where request_id = ${requestId}`.execute(
            t.db.kysely,
          )
        ).rows[0]?.n,
      );
    const v0 = await versionOf();
    const res = await t.request({
      headers,
      method: "PUT",
      url: `/v1/services/${s.service}/policies/${s.policy.id}?simulate=true`,
      payload: { ...s.policy, policyItems: [{ users: [s.alice], accesses: [{ type: "select" }] }] },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().replay.changes).toEqual([expect.objectContaining({ user: carol, direction: "newlyDenied" })]);
    const del = await t.request({
      headers,
      method: "DELETE",
      url: `/v1/services/${s.service}/policies/${s.policy.id}?simulate=true`,
    });
    expect(del.statusCode).toBe(200);
    expect(del.json().draft.deleted).toEqual([s.policy.id]);
    expect([await versionOf(), await audits()]).toEqual([v0, 0]);
    // the Ranger v2 policy routes and the Nx1 policy route answer the same way
    const ranger = await t.request({
      method: "PUT",
      url: `/service/public/v2/api/policy/${s.policy.id}?simulate=true`,
      payload: { ...s.policy, policyItems: [{ users: [s.alice], accesses: [{ type: "select", isAllowed: true }] }] },
    });
    expect(ranger.statusCode, ranger.body).toBe(200);
    expect(ranger.json().replay.changes).toEqual([expect.objectContaining({ user: carol, direction: "newlyDenied" })]);
    const rangerCreate = await t.request({
      method: "POST",
      url: "/service/public/v2/api/policy?simulate=true",
      payload: {
        service: s.service,
        name: uniqueName("rp"),
        resources: { catalog: { values: ["sales"] }, schema: { values: ["*"] }, table: { values: ["*"] } },
        policyItems: [{ users: [s.bob], accesses: [{ type: "select", isAllowed: true }] }],
      },
    });
    expect(rangerCreate.statusCode, rangerCreate.body).toBe(200);
    expect(rangerCreate.json().noNewAccess.noNewAccess).toBe(false);
    const nx1 = await t.request({
      method: "POST",
      url: "/api/govern/data-access/policies?simulate=true",
      payload: {
        name: uniqueName("nx1"),
        resources: { catalog: { values: ["iceberg"] }, schema: { values: ["x"] }, table: { values: ["*"] } },
        policyItems: [{ users: [s.bob], accesses: [{ type: "select", isAllowed: true }] }],
      },
    });
    expect(nx1.statusCode, nx1.body).toBe(200);
    expect(nx1.json()).toMatchObject({ service: nx1Name, noNewAccess: { noNewAccess: false } });
    const nx1Policies = await t.db.kysely
      .selectFrom("policies")
      .innerJoin("services", "services.id", "policies.service_id")
      .select("policies.id")
      .where("services.name", "=", nx1Name)
      .execute();
    expect(nx1Policies).toEqual([]);

    const stored = (
      await t.request({ method: "GET", url: `/v1/services/${s.service}/policies/${s.policy.id}` })
    ).json();
    expect(stored.version).toBe(s.policy.version);
    expect(stored.policyItems).toEqual(s.policy.policyItems);
    // the control: an update not simulated writes, and its audit event carries the request id
    const real = await t.request({
      headers,
      method: "PUT",
      url: `/v1/services/${s.service}/policies/${s.policy.id}`,
      payload: { ...s.policy, description: "written, not simulated" },
    });
    expect(real.statusCode, real.body).toBe(200);
    expect(await audits()).toBe(1);
  });
});

describe(`tag policy simulations (${TEST_BACKEND})`, () => {
  it("a tag policy in the draft (for the linked tag service) newly denies the tagged resource", async () => {
    const tagService = uniqueName("tagsvc");
    const pii = uniqueName("PII");
    const ok = async (method: "POST" | "PATCH", url: string, payload: Record<string, unknown>) => {
      const res = await t.request({ method, url, payload });
      expect(res.statusCode, res.body).toBeLessThan(300);
    };
    await ok("POST", "/v1/services", { name: tagService, type: "tag" });
    await ok("PATCH", `/v1/services/${s.service}`, { tagService });
    await ok("POST", "/v1/tag-defs", { name: pii });
    await ok("POST", `/v1/services/${s.service}/tagged-resources`, {
      resourceElements: {
        catalog: { values: ["sales"] },
        schema: { values: [s.schema] },
        table: { values: ["orders"] },
      },
      tags: [{ type: pii }],
    });
    const r = await simulate({
      policies: {
        create: [
          {
            service: tagService,
            name: uniqueName("deny-pii"),
            resources: { tag: { values: [pii] } },
            denyPolicyItems: [{ groups: [s.analysts], accesses: [{ type: "trino:select" }] }],
          },
        ],
      },
    });
    expect(r.replay).toMatchObject({ newlyDenied: 2, newlyAllowed: 0 });
    expect(r.replay.changes.map((c: { user: string }) => c.user).sort()).toEqual([s.alice, carol].sort());
    expect(r.noNewAccess.noNewAccess).toBe(true);
    const orders = r.exposure.diffs.find((d: { resource: Record<string, string> }) => d.resource.table === "orders");
    expect(orders.groups).toEqual([
      expect.objectContaining({ name: s.analysts, accessType: "select", before: "allowed", after: "denied" }),
    ]);
  });
});

describe("simulation OpenAPI", () => {
  it("documents the route and the `simulate` parameter of the policy writes", async () => {
    const doc = (await t.app.inject({ url: "/openapi.json" })).json() as {
      paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; responses?: object }>>;
    };
    const route = doc.paths["/v1/services/{service}/simulations"]?.post;
    expect(route?.responses).toHaveProperty("200");
    for (const [path, method] of [
      ["/v1/services/{service}/policies", "post"],
      ["/v1/services/{service}/policies/{id}", "put"],
      ["/v1/services/{service}/policies/{id}", "delete"],
      ["/service/public/v2/api/policy/{id}", "put"],
      ["/api/govern/data-access/policies", "post"],
    ] as const) {
      const params = doc.paths[path]?.[method]?.parameters ?? [];
      expect(
        params.some((p) => p.name === "simulate" && p.in === "query"),
        `${method} ${path}`,
      ).toBe(true);
    }
  });
});
