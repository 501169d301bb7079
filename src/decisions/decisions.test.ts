import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { DecisionAuditWriter, pruneDecisionLog } from "./decision-audit.ts";
import { seedService } from "./test-seed.ts";

let t: TestApp;

beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
});

describe(`decisions (${TEST_BACKEND})`, () => {
  it("allows and denies as the policy says, with memberships from the directory, and follows a change at once", async () => {
    const s = await seedService(t);
    const ask = (user: string, table = "orders", accessType = "select") =>
      t.request({
        method: "POST",
        url: "/v1/decisions",
        payload: { service: s.service, user, resource: { catalog: "sales", schema: s.schema, table }, accessType },
      });
    const allowed = await ask(s.alice);
    expect(allowed.statusCode).toBe(200);
    expect(allowed.json()).toMatchObject({
      allowed: true,
      determined: true,
      policyId: s.policy.id,
      policyVersion: 1,
      audited: true,
    });
    expect((await ask(s.bob)).json()).toMatchObject({ allowed: false, policyId: -1 });
    expect((await ask(s.alice, "orders", "insert")).json().allowed).toBe(false);

    // Deny bob explicitly, then grant him through the group: the very next decision sees each change.
    const upd = await t.request({
      method: "PATCH",
      url: `/v1/services/${s.service}/policies/${s.policy.id}`,
      payload: { policyItems: [{ groups: [s.analysts], users: [s.bob], accesses: [{ type: "select" }] }] },
    });
    expect(upd.statusCode).toBe(200);
    const after = (await ask(s.bob)).json();
    expect(after).toMatchObject({ allowed: true, policyVersion: 2 });
    const engine = (await t.request({ method: "GET", url: `/v1/services/${s.service}/engine` })).json();
    expect(engine).toMatchObject({ service: s.service, policies: 1, enabledPolicies: 1 });
    expect(engine.policyVersion).toBe(after.servicePolicyVersion);
    expect(engine.deltasApplied).toBeGreaterThanOrEqual(1);

    // A membership change is seen by the next decision too (the write clears the directory cache).
    await t.request({
      method: "PATCH",
      url: `/v1/services/${s.service}/policies/${s.policy.id}`,
      payload: { policyItems: [{ groups: [s.analysts], accesses: [{ type: "select" }] }] },
    });
    expect((await ask(s.bob)).json().allowed).toBe(false);
    expect((await t.request({ method: "PUT", url: `/v1/groups/${s.groupId}/members/${s.bobId}` })).statusCode).toBe(
      201,
    );
    expect((await ask(s.bob)).json().allowed).toBe(true);
  });

  it("names unknown services, users, resource keys and access types with 4xx", async () => {
    const s = await seedService(t);
    const base = { service: s.service, user: s.alice, resource: { catalog: "sales" }, accessType: "select" };
    const cases: [Record<string, unknown>, number, string, string][] = [
      [{ service: "nope-svc" }, 404, "SERVICE_NOT_FOUND", "nope-svc"],
      [{ user: "ghost-user" }, 404, "DECISION_USER_UNKNOWN", "ghost-user"],
      [{ resource: { catalog: "sales", tabel: "x" } }, 400, "RESOURCE_KEY_UNKNOWN", "tabel"],
      [{ accessType: "selekt" }, 400, "ACCESS_TYPE_UNKNOWN", "selekt"],
      [{ resource: "catalog=sales" }, 400, "VALIDATION_FAILED", "resource"],
    ];
    for (const [patch, status, code, named] of cases) {
      const res = await t.request({ method: "POST", url: "/v1/decisions", payload: { ...base, ...patch } });
      expect(res.statusCode, JSON.stringify(patch)).toBe(status);
      expect(res.json().code).toBe(code);
      expect(res.json().message).toContain(named);
    }
    // An external user is decided when its groups are given.
    const ext = await t.request({
      method: "POST",
      url: "/v1/decisions",
      payload: {
        ...base,
        user: "external",
        groups: [s.analysts],
        resource: { catalog: "sales", schema: s.schema, table: "t" },
      },
    });
    expect(ext.json()).toMatchObject({ allowed: true });
  });

  it("decides a batch in order with per-item errors, and explains a decision", async () => {
    const s = await seedService(t);
    const resource = { catalog: "sales", schema: s.schema, table: "orders" };
    const res = await t.request({
      method: "POST",
      url: "/v1/decisions:batch",
      payload: {
        service: s.service,
        requests: [
          { user: s.alice, resource, accessType: "select" },
          { user: s.bob, resource, accessType: "select" },
          { user: "ghost", resource, accessType: "select" },
          { service: "nope", user: s.alice, resource, accessType: "select" },
        ],
      },
    });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ allowed: 1, denied: 1, failed: 2 });
    expect(body.results[0].allowed).toBe(true);
    expect(body.results[2].error.code).toBe("DECISION_USER_UNKNOWN");
    // Each item's error names its own index (the field names are kept between batches).
    expect(body.results[2].error.message).toContain("body.requests[2].user");
    expect(body.results[3].error.code).toBe("SERVICE_NOT_FOUND");

    const tooMany = await t.request({
      method: "POST",
      url: "/v1/decisions:batch",
      payload: { service: s.service, requests: Array.from({ length: 10_001 }, () => ({ user: s.alice, resource })) },
    });
    expect(tooMany.statusCode).toBe(400);
    const most = await t.request({
      method: "POST",
      url: "/v1/decisions:batch",
      payload: {
        service: s.service,
        requests: Array.from({ length: 10_000 }, () => ({ user: s.alice, resource, accessType: "select" })),
      },
    });
    expect(most.statusCode).toBe(200);
    expect(most.json().allowed).toBe(10_000);

    const explained = await t.request({
      method: "POST",
      url: "/v1/decisions:explain",
      payload: { service: s.service, user: s.alice, resource, accessType: "select" },
    });
    expect(explained.statusCode).toBe(200);
    const ex = explained.json();
    expect(ex.decision.allowed).toBe(true);
    expect(ex.explanation.decidingPolicy?.id ?? ex.explanation.trace).toBeDefined();
  });

  it("answers who can access a resource and what a user can access", async () => {
    const s = await seedService(t);
    const who = await t.request({
      method: "GET",
      url: `/v1/services/${s.service}/access?resource=${encodeURIComponent(`catalog=sales,schema=${s.schema},table=orders`)}`,
    });
    expect(who.statusCode).toBe(200);
    expect(who.json().groups).toContainEqual({
      name: s.analysts,
      accesses: [{ accessType: "select", result: "allowed", policyId: s.policy.id }],
    });
    const badKey = await t.request({ method: "GET", url: `/v1/services/${s.service}/access?resource=tabel=x` });
    expect(badKey.statusCode).toBe(400);
    expect(badKey.json().code).toBe("RESOURCE_KEY_UNKNOWN");

    const what = await t.request({ method: "GET", url: `/v1/users/${s.aliceId}/access?service=${s.service}` });
    expect(what.statusCode).toBe(200);
    expect(what.json().items).toHaveLength(1);
    expect(what.json().items[0]).toMatchObject({
      policyId: s.policy.id,
      effect: "allow",
      accessTypes: ["select"],
      via: { type: "group", name: s.analysts },
    });
    const byName = await t.request({ method: "GET", url: `/v1/users/${s.bob}/access?service=${s.service}` });
    expect(byName.json().total).toBe(0);
    const ghost = await t.request({ method: "GET", url: `/v1/users/ghost-${s.bob}/access?service=${s.service}` });
    expect(ghost.statusCode).toBe(404);
  });

  it("writes audited decisions to the decision log in the background, filtered and paginated", async () => {
    const s = await seedService(t);
    for (const user of [s.alice, s.bob, s.alice]) {
      await t.request({
        method: "POST",
        url: "/v1/decisions",
        payload: {
          service: s.service,
          user,
          resource: { catalog: "sales", schema: s.schema, table: "t1" },
          accessType: "select",
        },
      });
    }
    await t.app.decisions.audit.flush();
    const all = (await t.request({ method: "GET", url: `/v1/audit/decisions?service=${s.service}&limit=2` })).json();
    expect(all.total).toBe(3);
    expect(all.items).toHaveLength(2);
    expect(all.items[0]).toMatchObject({ service: s.service, resource: `catalog=sales/schema=${s.schema}/table=t1` });
    const next = (
      await t.request({
        method: "GET",
        url: `/v1/audit/decisions?service=${s.service}&limit=2&cursor=${all.nextCursor}`,
      })
    ).json();
    expect(next.items).toHaveLength(1);
    expect(next.nextCursor).toBeNull();
    const denied = (
      await t.request({ method: "GET", url: `/v1/audit/decisions?service=${s.service}&result=denied` })
    ).json();
    expect(denied.items.map((i: { user: string }) => i.user)).toEqual([s.bob]);
    const byPolicy = (
      await t.request({
        method: "GET",
        url: `/v1/audit/decisions?policyId=${s.policy.id}&user=${s.alice}&resource=${encodeURIComponent(`catalog=sales/schema=${s.schema}`)}`,
      })
    ).json();
    expect(byPolicy.total).toBe(2);
  });

  it("counts decision-audit overflow instead of growing or failing", async () => {
    let dropped = 0;
    const writer = new DecisionAuditWriter(t.db.kysely, {
      capacity: 2,
      flushIntervalMs: 60_000,
      onDropped: (n) => (dropped += n),
    });
    const entry = {
      service: "s",
      user: "u",
      groups: [],
      roles: [],
      accessType: "select",
      action: null,
      resource: "catalog=x",
      policyType: 0,
      allowed: false,
      determined: true,
      policyId: null,
      policyVersion: null,
      reason: "r",
      at: new Date(),
      requestId: null,
      clientIp: null,
    };
    expect([writer.push(entry), writer.push(entry), writer.push(entry)]).toEqual([true, true, false]);
    expect(dropped).toBe(1);
    await writer.stop();
    expect(writer.push(entry)).toBe(false);
    const old = new DecisionAuditWriter(t.db.kysely);
    old.push({ ...entry, at: new Date(Date.now() - 3 * 86_400_000) });
    await old.stop();
    expect(await pruneDecisionLog(t.db.kysely, 2)).toBeGreaterThanOrEqual(1);
    const metrics = await t.request({ method: "GET", url: "/metrics" });
    expect(metrics.body).toContain("gatehouse_decision_audit_dropped_total");
    expect(metrics.body).toContain("gatehouse_decisions_total");
    // Counted per decision by the tests above (the app is shared by this file).
    expect(metrics.body).toMatch(/gatehouse_decisions_total\{result="allowed"\} [1-9]/);
    expect(metrics.body).toMatch(/gatehouse_decisions_total\{result="denied"\} [1-9]/);
  });
});
