import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceAccountHeaders } from "../../../test/support/credentials.ts";
import { uniqueName } from "../../../test/support/factories.ts";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";
import { seedHiveService } from "./pdp-seed.ts";

let t: TestApp;
let seed: Awaited<ReturnType<typeof seedHiveService>>;

beforeAll(async () => {
  t = await testApp({
    GATEHOUSE_RANGER_PDP_USER_HEADER: "X-Forwarded-User",
    GATEHOUSE_RANGER_PDP_TRUSTED_NETWORKS: "127.0.0.1",
    GATEHOUSE_RANGER_PDP_DELEGATION_USERS: "*=gateway",
  });
  seed = await seedHiveService(t);
}, 120_000);
afterAll(async () => {
  await t?.app.close();
});

/** A PDP call as the trusted proxy names `caller` (inject comes from 127.0.0.1). */
const pdp = (path: string, caller: string, payload: object, remoteAddress = "127.0.0.1") =>
  t.app.inject({
    method: "POST",
    url: `/authz/v1/${path}`,
    headers: { "x-forwarded-user": caller },
    payload,
    remoteAddress,
  });

const context = () => ({ serviceType: "hive", serviceName: seed.service });
const access = (name: string, permissions: string[], extra: Record<string, unknown> = {}) => ({
  resource: { name, ...extra },
  permissions,
});

describe("POST /authz/v1/authorize", () => {
  it("allows a caller asking about itself, with the policy, the row filter and the mask of each column", async () => {
    const res = await pdp("authorize", seed.alice, {
      requestId: "req-1",
      user: { name: seed.alice },
      access: access("table:default/test_tbl1", ["select"], { subResources: ["column:id", "column:email"] }),
      context: context(),
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.requestId).toBe("req-1");
    expect(body.decision).toBe("ALLOW");
    const select = body.permissions.select;
    expect(select.permission).toBe("select");
    expect(select.access.decision).toBe("ALLOW");
    expect(select.rowFilter).toEqual({
      filterExpr: "dept = 'mktg'",
      policy: { id: seed.rowFilterPolicyId, version: 1 },
    });
    expect(select.subResources["column:id"]).toEqual({
      access: { decision: "ALLOW", policy: { id: seed.accessPolicyId, version: 1 } },
    });
    expect(select.subResources["column:email"].dataMask).toMatchObject({
      maskType: "MASK_HASH",
      policy: { id: seed.maskPolicyId, version: 1 },
    });
  });

  it("denies without a row filter or mask when a permission is not granted", async () => {
    const res = await pdp("authorize", seed.bob, {
      user: { name: seed.bob },
      access: access("table:default/test_tbl1", ["select", "drop"]),
      context: context(),
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.requestId).toBeUndefined();
    expect(["DENY", "NOT_DETERMINED"]).toContain(body.decision);
    expect(body.permissions.select.rowFilter).toBeUndefined();
    expect(body.permissions.drop.access.decision).not.toBe("ALLOW");
  });

  it("sees a row filter added after the service's first decision", async () => {
    const service = uniqueName("hive_rf");
    expect(
      (await t.request({ method: "POST", url: "/v1/services", payload: { name: service, type: "hive" } })).statusCode,
    ).toBe(201);
    const table = { database: { values: ["default"] }, table: { values: ["t1"] } };
    const grant = await t.request({
      method: "POST",
      url: `/v1/services/${service}/policies`,
      payload: {
        name: "p",
        resources: { ...table, column: { values: ["*"] } },
        policyItems: [{ users: [seed.alice], accesses: [{ type: "select" }] }],
      },
    });
    expect(grant.statusCode, grant.body).toBe(201);
    const ask = async () =>
      (
        await pdp("authorize", seed.alice, {
          user: { name: seed.alice },
          access: access("table:default/t1", ["select"]),
          context: { serviceName: service },
        })
      ).json();
    expect((await ask()).permissions.select.rowFilter).toBeUndefined();
    const filter = await t.request({
      method: "POST",
      url: `/v1/services/${service}/policies`,
      payload: {
        name: "rf",
        policyType: 2,
        resources: table,
        policyItems: [],
        rowFilterPolicyItems: [
          { users: [seed.alice], accesses: [{ type: "select" }], rowFilterInfo: { filterExpr: "x > 1" } },
        ],
      },
    });
    expect(filter.statusCode, filter.body).toBe(201);
    expect((await ask()).permissions.select.rowFilter?.filterExpr).toBe("x > 1");
  });

  it("decides by the linked tag service's policies (no tag masking policy: no mask)", async () => {
    const service = uniqueName("hive_tags");
    const tagService = uniqueName("tagsvc");
    const secret = uniqueName("SECRET");
    const ok = async (method: "POST" | "PATCH", url: string, payload: object) => {
      const res = await t.request({ method, url, payload });
      expect(res.statusCode, res.body).toBeLessThan(300);
      return res.json();
    };
    await ok("POST", "/v1/services", { name: service, type: "hive" });
    await ok("POST", "/v1/services", { name: tagService, type: "tag" });
    await ok("PATCH", `/v1/services/${service}`, { tagService });
    await ok("POST", "/v1/tag-defs", { name: secret });
    const table = { database: { values: ["default"] }, table: { values: ["t1"] } };
    const grant = await ok("POST", `/v1/services/${service}/policies`, {
      name: "p",
      resources: { ...table, column: { values: ["*"] } },
      policyItems: [{ users: [seed.alice], accesses: [{ type: "select" }] }],
    });
    await ok("POST", `/v1/services/${service}/tagged-resources`, {
      resourceElements: { ...table, column: { values: ["ssn"] } },
      tags: [{ type: secret }],
    });
    const deny = await ok("POST", `/v1/services/${tagService}/policies`, {
      name: uniqueName("deny-secret"),
      resources: { tag: { values: [secret] } },
      denyPolicyItems: [{ users: [seed.alice], accesses: [{ type: "hive:select" }] }],
    });
    const res = await pdp("authorize", seed.alice, {
      user: { name: seed.alice },
      access: access("table:default/t1", ["select"], { subResources: ["column:id", "column:ssn"] }),
      context: { serviceName: service },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      decision: "DENY",
      permissions: {
        select: {
          permission: "select",
          access: { decision: "DENY", policy: { id: deny.id, version: 1 } },
          subResources: {
            "column:id": { access: { decision: "ALLOW", policy: { id: grant.id, version: 1 } } },
            "column:ssn": { access: { decision: "DENY", policy: { id: deny.id, version: 1 } } },
          },
        },
      },
    });
  });

  it("needs a delegation user to ask about another user or to supply groups, roles or resource attributes", async () => {
    const asBob = {
      user: { name: seed.bob },
      access: access("table:default/test_tbl1", ["select"]),
      context: context(),
    };
    const other = await pdp("authorize", seed.alice, asBob);
    expect(other.statusCode).toBe(403);
    expect(other.json()).toEqual({ code: "FORBIDDEN", message: `${seed.alice} is not authorized` });
    const groups = await pdp("authorize", seed.bob, { ...asBob, user: { name: seed.bob, groups: [seed.analysts] } });
    expect(groups.statusCode).toBe(403);
    const owner = await pdp("authorize", seed.bob, {
      ...asBob,
      access: access("table:default/test_tbl1", ["select"], { attributes: { OWNER: seed.bob } }),
    });
    expect(owner.statusCode).toBe(403);
    const delegated = await pdp("authorize", "gateway", {
      ...asBob,
      user: { name: seed.bob, groups: [seed.analysts] },
    });
    expect(delegated.statusCode, delegated.body).toBe(200);
    expect(delegated.json().decision).toBe("ALLOW");
  });

  it("trusts the user header only from the configured networks", async () => {
    const body = {
      user: { name: seed.alice },
      access: access("table:default/test_tbl1", ["select"]),
      context: context(),
    };
    const outside = await pdp("authorize", seed.alice, body, "10.9.8.7");
    expect(outside.statusCode).toBe(401);
    expect(outside.json().code).toBe("UNAUTHORIZED");
    expect(outside.headers["www-authenticate"]).toContain("Bearer");
  });

  it("takes Gatehouse credentials: a service account asks about itself, and needs delegation for others", async () => {
    const headers = await serviceAccountHeaders(t, ["gatehouse-admin"]);
    const body = {
      user: { name: seed.alice },
      access: access("table:default/test_tbl1", ["select"]),
      context: context(),
    };
    const res = await t.app.inject({ method: "POST", url: "/authz/v1/authorize", headers, payload: body });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe("FORBIDDEN");
    const viewer = await serviceAccountHeaders(t, ["auditor"]);
    const denied = await t.app.inject({ method: "POST", url: "/authz/v1/authorize", headers: viewer, payload: body });
    expect(denied.statusCode).toBe(403);
  });

  it.each([
    [{ access: access("table:default/test_tbl1", ["select"]) }, 400, "missing user info"],
    [{ user: { name: "SELF" } }, 400, "AUTHZ-400-00-004: missing access info"],
    [{ user: { name: "SELF" }, access: { permissions: ["select"] } }, 400, "AUTHZ-400-00-005: missing resource info"],
    [
      { user: { name: "SELF" }, access: access("table:default/test_tbl1", []) },
      400,
      "AUTHZ-400-00-012: permissions is empty. Nothing to authorize",
    ],
    [
      { user: { name: "SELF" }, access: access("bucket:x", ["select"]) },
      400,
      "AUTHZ-400-00-009: bucket: resource type not found",
    ],
    [
      { user: { name: "SELF" }, access: access("table:default", ["select"]) },
      400,
      'AUTHZ-400-00-017: invalid resource "default" - does not match template "database/table"',
    ],
    [
      { user: { name: "SELF" }, access: access("table:default/t", ["fly"]) },
      400,
      "AUTHZ-400-00-011: fly: permission not found",
    ],
    [
      {
        user: { name: "SELF" },
        access: access("table:default/t", ["select"], {
          subResources: ["column:a"],
          nameMatchScope: "SELF_OR_ANY_DESCENDANT",
        }),
      },
      400,
      "AUTHZ-400-00-007: invalid name match scope SELF_OR_ANY_DESCENDANT. For {1}, valid scopes are [{2}]",
    ],
  ])("answers a bad request in Ranger's error shape (%#)", async (partial, status, message) => {
    const body = { context: context(), ...partial } as Record<string, unknown>;
    if ((body.user as { name?: string } | undefined)?.name === "SELF") body.user = { name: seed.alice };
    const res = await pdp("authorize", seed.alice, body);
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json()).toEqual({ code: "BAD_REQUEST", message });
  });

  it("names a missing service, and a missing context", async () => {
    const body = { user: { name: seed.alice }, access: access("table:default/t", ["select"]) };
    const missing = await pdp("authorize", seed.alice, { ...body, context: { serviceName: "no_such_svc" } });
    expect(missing.json()).toEqual({
      code: "BAD_REQUEST",
      message: "AUTHZ-400-00-001: no_such_svc: service not found",
    });
    const none = await pdp("authorize", seed.alice, body);
    expect(none.json()).toEqual({ code: "BAD_REQUEST", message: "AUTHZ-400-00-008: missing access context" });
    const typeOnly = await pdp("authorize", seed.alice, { ...body, context: {} });
    expect(typeOnly.json().message).toBe("AUTHZ-400-00-013: service name or service type is mandatory");
  });

  it("records its decisions in the decision log", async () => {
    const res = await pdp("authorize", seed.alice, {
      user: { name: seed.alice },
      access: { ...access("table:default/test_tbl1", ["create"]), action: "CREATE" },
      context: context(),
    });
    expect(res.json().decision).toBe("ALLOW");
    await t.app.decisions.audit.flush();
    const log = await t.request({
      method: "GET",
      url: `/v1/audit/decisions?service=${seed.service}&user=${seed.alice}`,
    });
    expect(log.statusCode, log.body).toBe(200);
    expect(JSON.stringify(log.json())).toContain("create");
  });
});

describe("POST /authz/v1/authorizeMulti", () => {
  it("aggregates: ALLOW when all allow, PARTIAL for a mix", async () => {
    const all = await pdp("authorizeMulti", seed.alice, {
      requestId: "m1",
      user: { name: seed.alice },
      accesses: [access("table:default/test_tbl1", ["select"]), access("table:default/test_tbl1", ["create"])],
      context: context(),
    });
    expect(all.statusCode, all.body).toBe(200);
    expect(all.json().decision).toBe("ALLOW");
    expect(all.json().requestId).toBe("m1");
    const mixed = await pdp("authorizeMulti", seed.alice, {
      user: { name: seed.alice },
      accesses: [access("table:default/test_tbl1", ["select"]), access("table:default/test_vw1", ["create"])],
      context: context(),
    });
    expect(mixed.json().decision).toBe("PARTIAL");
    expect(mixed.json().accesses).toHaveLength(2);
    expect(mixed.json().accesses[0].decision).toBe("ALLOW");
  });

  it("needs at least one access", async () => {
    const res = await pdp("authorizeMulti", seed.alice, {
      user: { name: seed.alice },
      accesses: [],
      context: context(),
    });
    expect(res.json()).toEqual({ code: "BAD_REQUEST", message: "AUTHZ-400-00-004: missing access info" });
  });
});

describe("POST /authz/v1/permissions and /authz/v1/filterResources", () => {
  it("are for delegation users only", async () => {
    const perms = await pdp("permissions", seed.alice, {
      resource: { name: "table:default/test_tbl1" },
      context: context(),
    });
    expect(perms.statusCode).toBe(403);
    const filter = await pdp("filterResources", seed.alice, {
      user: { name: seed.alice },
      resources: [{ name: "table:default/test_tbl1" }],
      permissions: ["select"],
      context: context(),
    });
    expect(filter.statusCode).toBe(403);
  });

  it("lists the permissions of groups on a resource", async () => {
    const res = await pdp("permissions", "gateway", {
      resource: { name: "table:default/test_tbl1" },
      context: context(),
    });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body.resource).toEqual({ name: "table:default/test_tbl1" });
    expect(body.groups[seed.analysts].select).toEqual({
      permission: "select",
      access: { decision: "ALLOW", policy: { id: seed.accessPolicyId, version: 1 } },
    });
  });

  it("keeps the resources the user holds every permission on", async () => {
    const res = await pdp("filterResources", "gateway", {
      requestId: "f1",
      user: { name: seed.alice },
      resources: [{ name: "table:default/test_tbl1" }, { name: "table:default/test_vw1" }],
      action: "select",
      permissions: ["select"],
      context: context(),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ requestId: "f1", resources: [{ name: "table:default/test_tbl1" }] });
  });
});

describe("the fast lane", () => {
  it("answers authorize and authorizeMulti over HTTP exactly as the routes do", async () => {
    await t.app.listen({ host: "127.0.0.1", port: 0 });
    const url = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    const single = {
      requestId: "lane",
      user: { name: seed.alice },
      access: access("table:default/test_tbl1", ["select"], { subResources: ["column:email"] }),
      context: context(),
    };
    const multi = {
      user: { name: seed.alice },
      accesses: [single.access, access("table:default/x", ["drop"])],
      context: context(),
    };
    for (const [path, body] of [
      ["authorize", single],
      ["authorizeMulti", multi],
    ] as const) {
      const before = { ...t.app.rangerPdpLanes[path] };
      const res = await fetch(`${url}/authz/v1/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-user": seed.alice },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(200);
      expect(t.app.rangerPdpLanes[path].answered).toBe(before.answered + 1);
      const viaFastify = await pdp(path, seed.alice, body);
      // the same text: the lane writes with JSON.stringify, the route with the answer schema
      expect(await res.text()).toBe(viaFastify.body);
    }
    // an error read by the lane is replayed through Fastify, in Ranger's shape
    const before = { ...t.app.rangerPdpLanes.authorize };
    const bad = await fetch(`${url}/authz/v1/authorize`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-user": seed.alice },
      body: JSON.stringify({ ...single, user: { name: seed.bob } }),
    });
    expect(bad.status).toBe(403);
    expect(await bad.json()).toEqual({ code: "FORBIDDEN", message: `${seed.alice} is not authorized` });
    expect(t.app.rangerPdpLanes.authorize.replayed).toBe(before.replayed + 1);
  });
});

describe("health", () => {
  it("answers /health/live and /health/ready as Ranger PDP does", async () => {
    const live = await t.app.inject({ method: "GET", url: "/health/live" });
    expect(live.json()).toEqual({ status: "UP", service: "ranger-pdp", live: true });
    const ready = await t.app.inject({ method: "GET", url: "/health/ready" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toMatchObject({ status: "READY", ready: true, acceptingRequests: true });
    expect(ready.json().loadedServicesCount).toBeGreaterThanOrEqual(1);
  });
});
