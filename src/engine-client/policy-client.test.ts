import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { seedService } from "../decisions/test-seed.ts";
import {
  createEngine,
  type EngineInput,
  type EngineOptions,
  PolicyEngine,
  type RangerPolicyDelta,
  type SecurityZoneInfo,
  type ServiceTags,
} from "../engine/index.ts";
import { seedTaggedService } from "../tags/test-seed.ts";
import { PolicyClient, type PolicyClientOptions } from "./policy-client.ts";

let t: TestApp;

beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
});

/** `fetch` answered by the test app in process (`inject`), so the client speaks real HTTP semantics. */
function injectFetch(app: TestApp, seen: { url: string; body: string }[] = []): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const res = await app.request({
      method: "GET",
      url: url.pathname + url.search,
      headers: (init?.headers ?? {}) as Record<string, string>,
    });
    seen.push({ url: url.pathname + url.search, body: res.statusCode === 304 ? "" : res.body });
    return new Response(res.statusCode === 304 ? null : res.body, { status: res.statusCode });
  }) as typeof fetch;
}

/** A started client of `service` on the test app that polls only when asked (`refresh`). */
function startClient(
  service: string,
  seen: { url: string; body: string }[] = [],
  options: Partial<PolicyClientOptions> = {},
): Promise<PolicyClient> {
  return new PolicyClient({
    serverUrl: "http://gatehouse.test",
    serviceName: service,
    pollIntervalMs: 0,
    fetch: injectFetch(t, seen),
    ...options,
  }).start();
}

/**
 * Alice's select on each table of a tagged service, asked of `client` and checked against an engine
 * built from fresh downloads; returns the fresh ServiceTags and the client's answers by table.
 */
async function compareWithFreshDownloads(
  s: Awaited<ReturnType<typeof seedTaggedService>>,
  client: PolicyClient,
  tables: readonly string[],
): Promise<{ tags: ServiceTags; allowed: Record<string, boolean> }> {
  const sp = (await t.request({ method: "GET", url: `/service/plugins/policies/download/${s.service}` })).json();
  const tags = (await t.request({ method: "GET", url: `/service/tags/download/${s.service}` })).json();
  const fresh = createEngine({
    serviceName: sp.serviceName,
    serviceDef: sp.serviceDef,
    policies: sp.policies,
    serviceConfig: { raw: sp.serviceConfig },
    ...(sp.tagPolicies ? { tagPolicies: sp.tagPolicies } : {}),
    serviceTags: tags,
  });
  const allowed: Record<string, boolean> = {};
  for (const table of tables) {
    const request = {
      resource: { elements: { catalog: "sales", schema: s.schema, table } },
      accessType: "select",
      user: s.alice,
      userGroups: [s.analysts],
    };
    const local = client.isAccessAllowed(request);
    const expected = fresh.isAccessAllowed(request);
    expect({ table, allowed: local.isAllowed, policyId: local.policyId }).toEqual({
      table,
      allowed: expected.isAllowed,
      policyId: expected.policyId,
    });
    allowed[table] = local.isAllowed;
  }
  return { tags, allowed };
}

describe(`policy client and resource-tag changes (${TEST_BACKEND})`, () => {
  it("applies a new ServiceTags download to its engine in place, deciding as an engine built from the downloads; a link change rebuilds", async () => {
    const s = await seedTaggedService(t);
    const client = await startClient(s.service);
    let engine = client.engine;
    const tables = ["orders", "invoices", "customers"];
    /** alice's select on each table by the client, checked against an engine built from fresh downloads. */
    const decisions = async () => {
      const { tags, allowed } = await compareWithFreshDownloads(s, client, tables);
      expect(client.tagVersion).toBe(tags.tagVersion);
      return allowed;
    };
    const tag = (table: string) =>
      ok("POST", `/v1/services/${s.service}/tagged-resources`, {
        resourceElements: s.table(table),
        tags: [{ type: s.pii }],
      });
    expect(await decisions()).toEqual({ orders: true, invoices: true, customers: true });

    const orders = await tag("orders");
    await tag("invoices");
    engine = await refreshInPlace(client, engine);
    expect(await decisions()).toEqual({ orders: false, invoices: false, customers: true });

    await ok("DELETE", `/v1/services/${s.service}/tagged-resources/${orders.id}/tags/${s.pii}`);
    engine = await refreshInPlace(client, engine);
    expect(await decisions()).toEqual({ orders: true, invoices: false, customers: true });

    // A policy delta and new tags in one poll: both applied in place.
    await ok("PATCH", `/v1/services/${s.tagService}/policies/${s.tagPolicy.id}`, { isEnabled: false });
    await tag("customers");
    engine = await refreshInPlace(client, engine);
    expect(await decisions()).toEqual({ orders: true, invoices: true, customers: true });
    await ok("PATCH", `/v1/services/${s.tagService}/policies/${s.tagPolicy.id}`, { isEnabled: true });
    engine = await refreshInPlace(client, engine);
    expect(await decisions()).toEqual({ orders: true, invoices: false, customers: false });

    // Unlinking the tag service drops the tag repository: the client rebuilds.
    await ok("PATCH", `/v1/services/${s.service}`, { tagService: null });
    expect(await client.refresh()).toBe(true);
    expect(client.engine).not.toBe(engine);
    expect(await decisions()).toEqual({ orders: true, invoices: true, customers: true });
  });
});

describe(`policy client and tag deltas (${TEST_BACKEND})`, () => {
  it("asks for tag deltas, applies them in place, and holds what a fresh download holds", async () => {
    const s = await seedTaggedService(t);
    const seen: { url: string; body: string }[] = [];
    const client = await startClient(s.service, seen);
    const tables = ["orders", "invoices", "customers", "payments"];
    const tag = (table: string, level = "high") =>
      ok("POST", `/v1/services/${s.service}/tagged-resources`, {
        resourceElements: s.table(table),
        tags: [{ type: s.pii, attributes: { level } }],
      });
    /** Polls, then checks the client against a fresh download: the tag answer it got, document, decisions. */
    let engine = client.engine;
    const pollAndCompare = async () => {
      seen.length = 0;
      engine = await refreshInPlace(client, engine);
      const answer = seen.find((x) => x.url.startsWith("/service/tags/download/"));
      expect(answer?.url).toContain("supportsTagDeltas=true");
      const { tags } = await compareWithFreshDownloads(s, client, tables);
      const { tagDefinitions: _held, ...held } = client.serviceTags ?? {};
      const { tagDefinitions: _fresh, ...want } = tags;
      expect(held).toEqual(want);
      return JSON.parse(answer?.body || "{}") as { isDelta?: boolean };
    };

    const orders = await tag("orders");
    expect(await pollAndCompare()).toMatchObject({ isDelta: true });
    await tag("invoices");
    await tag("orders", "low");
    expect(await pollAndCompare()).toMatchObject({ isDelta: true });
    await ok("DELETE", `/v1/services/${s.service}/tagged-resources/${orders.id}`);
    await tag("customers");
    expect(await pollAndCompare()).toMatchObject({ isDelta: true });
    await ok("PUT", "/service/tags/importservicetags", {
      serviceName: s.service,
      op: "replace",
      tags: { "1": { type: s.pii } },
      serviceResources: [{ id: 1, resourceElements: s.table("payments") }],
      resourceToTagIds: { "1": [1] },
    });
    expect(await pollAndCompare()).toMatchObject({ isDelta: true });
    // A change no delta reproduces (elements changed in place): the whole document, applied as its difference.
    const guid = (await t.request({ method: "GET", url: `/v1/services/${s.service}/tagged-resources` })).json().items[0]
      .guid;
    await ok("PUT", "/service/tags/importservicetags", {
      serviceName: s.service,
      tags: { "1": { type: s.pii } },
      serviceResources: [{ id: 1, guid, resourceElements: s.table("orders") }],
      resourceToTagIds: { "1": [1] },
    });
    expect(await pollAndCompare()).toMatchObject({ isDelta: false });
    expect(client.tagVersion).toBe(
      (await t.request({ method: "GET", url: `/service/tags/download/${s.service}` })).json().tagVersion,
    );
  });
});

/** Policies named so, and resources tagged on a table named so, are refused by `refusingEngine`. */
const REFUSED = "refused";

function refusedResource(tags: ServiceTags | undefined): boolean {
  return (tags?.serviceResources ?? []).some((r) => r.resourceElements?.table?.values?.includes(REFUSED));
}

/**
 * A real engine that refuses what the server never sends a stock engine (it validates what it
 * stores, so nothing it serves makes the engine throw): a policy named `refused-…` and a resource
 * tagged on table `refused`. Its in-place updates throw halfway, as a throw inside the engine's
 * own loops would: `applyDeltas` applies the deltas before the refused policy, `applyServiceTags`
 * applies the tags, then they throw. A build of documents holding either throws.
 */
class RefusingEngine extends PolicyEngine {
  override applyDeltas(
    deltas: readonly RangerPolicyDelta[],
    zones?: Record<string, SecurityZoneInfo>,
    policyVersion?: number,
  ): void {
    const i = deltas.findIndex((d) => d.changeType !== 2 && d.policy.name?.startsWith(REFUSED));
    if (i < 0) {
      super.applyDeltas(deltas, zones, policyVersion);
      return;
    }
    super.applyDeltas(deltas.slice(0, i), zones);
    throw new Error(`policy \`${deltas[i]?.policy.name}\` refused`);
  }

  override applyServiceTags(serviceTags: ServiceTags): void {
    super.applyServiceTags(serviceTags);
    if (refusedResource(serviceTags)) throw new Error("tagged resource refused");
  }
}

function refusingEngine(input: EngineInput, options?: EngineOptions): PolicyEngine {
  const zoned = Object.values(input.securityZones ?? {}).flatMap((z) => z.policies ?? []);
  const refused = [...input.policies, ...zoned, ...(input.tagPolicies?.policies ?? [])].find((p) =>
    p.name?.startsWith(REFUSED),
  );
  if (refused) throw new Error(`policy \`${refused.name}\` refused`);
  if (refusedResource(input.serviceTags)) throw new Error("tagged resource refused");
  return new RefusingEngine(input, options);
}

/** A request for `sales.<schema>.<table>` by `user`. */
const select = (schema: string, table: string, user: string, userGroups: string[] = []) => ({
  resource: { elements: { catalog: "sales", schema, table } },
  accessType: "select",
  user,
  userGroups,
});

/** An engine built from fresh downloads of the service (what the client must decide as). */
async function freshEngine(service: string) {
  const sp = (await t.request({ method: "GET", url: `/service/plugins/policies/download/${service}` })).json();
  const tags = (await t.request({ method: "GET", url: `/service/tags/download/${service}` })).json();
  const roles = (await t.request({ method: "GET", url: `/service/roles/download/${service}` })).json();
  return {
    policyVersion: sp.policyVersion as number,
    tagVersion: tags.tagVersion as number,
    roleVersion: roles.roleVersion as number,
    engine: createEngine({
      serviceName: sp.serviceName,
      serviceDef: sp.serviceDef,
      policies: sp.policies,
      roles: roles.rangerRoles,
      serviceConfig: { raw: sp.serviceConfig },
      ...(sp.tagPolicies ? { tagPolicies: sp.tagPolicies } : {}),
      serviceTags: tags,
    }),
  };
}

/**
 * Polls, expecting a change applied to the engine in place unless the poll brought new roles: a
 * role change rebuilds the engine, and Ranger roles are global, so on a shared database another
 * test file may change them during any poll. Returns the engine the client holds after the poll.
 */
async function refreshInPlace(client: PolicyClient, engine: PolicyEngine): Promise<PolicyEngine> {
  const roles = client.roleVersion;
  expect(await client.refresh()).toBe(true);
  if (client.roleVersion === roles) expect(client.engine).toBe(engine);
  return client.engine;
}

/**
 * `freshEngine` once the client holds the roles it downloads. Ranger roles are global: on a shared
 * database other test files change them at any time, so the client refreshes until they are quiet.
 */
async function settledFreshEngine(client: PolicyClient, service: string) {
  for (let round = 0; round < 20; round++) {
    const fresh = await freshEngine(service);
    if (client.roleVersion === fresh.roleVersion) return fresh;
    await client.refresh();
  }
  throw new Error("the roles kept changing for 20 rounds");
}

/** A write to the test app that must succeed; its JSON answer (null for 204). */
async function ok(method: "POST" | "DELETE" | "PATCH" | "PUT", url: string, payload?: object) {
  const res = await t.request({ method, url, ...(payload ? { payload } : {}) });
  expect(res.statusCode, res.body).toBeLessThan(300);
  return res.statusCode === 204 ? null : res.json();
}

describe(`policy client and an update its engine refuses (${TEST_BACKEND})`, () => {
  it("policy deltas refused in place and on a rebuild: the poll fails with versions and decisions as they were, the next asks from them, and the one after the fix catches up", async () => {
    const s = await seedService(t);
    const seen: { url: string; body: string }[] = [];
    const errors: unknown[] = [];
    const client = await startClient(s.service, seen, {
      engineFactory: refusingEngine,
      onError: (err) => errors.push(err),
    });
    const versions = () => ({
      policyVersion: client.policyVersion,
      roleVersion: client.roleVersion,
      tagVersion: client.tagVersion,
    });
    const decisions = () => ({
      aliceOrders: client.isAccessAllowed(select(s.schema, "orders", s.alice, [s.analysts])).isAllowed,
      bobInvoices: client.isAccessAllowed(select(s.schema, "invoices", s.bob)).isAllowed,
    });
    const held = versions();
    expect(decisions()).toEqual({ aliceOrders: true, bobInvoices: false });

    // One poll, two deltas: a deny the engine takes, then a policy it refuses (after the deny was applied).
    const table = (name: string) => ({
      catalog: { values: ["sales"] },
      schema: { values: [s.schema] },
      table: { values: [name] },
    });
    await ok("POST", `/v1/services/${s.service}/policies`, {
      name: uniqueName("deny-orders"),
      resources: table("orders"),
      denyPolicyItems: [{ users: [s.alice], accesses: [{ type: "select" }] }],
    });
    const refused = await ok("POST", `/v1/services/${s.service}/policies`, {
      name: uniqueName(REFUSED),
      resources: table("invoices"),
      policyItems: [{ users: [s.bob], accesses: [{ type: "select" }] }],
    });
    await expect(client.refresh()).rejects.toThrow(/refused/);
    expect(versions()).toEqual(held);
    // the half-applied engine is not served: the deny it had taken decides nothing
    expect(decisions()).toEqual({ aliceOrders: true, bobInvoices: false });

    // The next poll asks from the same versions (no 304 hiding the change) and fails the same way.
    seen.length = 0;
    await expect(client.refresh()).rejects.toThrow(/refused/);
    expect(seen.find((x) => x.url.startsWith("/service/plugins/policies/download/"))?.url).toContain(
      `lastKnownVersion=${held.policyVersion}&`,
    );
    expect(versions()).toEqual(held);
    expect(decisions()).toEqual({ aliceOrders: true, bobInvoices: false });
    expect(errors).toEqual([]);

    // The cause removed: the deltas since the held version still hold the refused policy, so the
    // in-place update fails again; the rebuild from the new documents takes the poll and reports it.
    await ok("PATCH", `/v1/services/${s.service}/policies/${refused.id}`, { name: uniqueName("taken") });
    expect(await client.refresh()).toBe(true);
    const fresh = await settledFreshEngine(client, s.service);
    expect(versions()).toEqual({
      policyVersion: fresh.policyVersion,
      roleVersion: fresh.roleVersion,
      tagVersion: held.tagVersion,
    });
    expect(client.policyVersion).toBeGreaterThan(held.policyVersion);
    expect(decisions()).toEqual({ aliceOrders: false, bobInvoices: true });
    expect(client.isAccessAllowed(select(s.schema, "orders", s.alice, [s.analysts])).policyId).toBe(
      fresh.engine.isAccessAllowed(select(s.schema, "orders", s.alice, [s.analysts])).policyId,
    );
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toMatch(/refused/);

    // A role change rebuilds: refused with a refused policy, nothing of the poll is kept, roles included.
    const before = versions();
    await ok("POST", "/v1/roles", { name: uniqueName("stewards") });
    const again = await ok("POST", `/v1/services/${s.service}/policies`, {
      name: uniqueName(REFUSED),
      resources: table("customers"),
      policyItems: [{ users: [s.bob], accesses: [{ type: "select" }] }],
    });
    await expect(client.refresh()).rejects.toThrow(/refused/);
    expect(versions()).toEqual(before);
    await ok("DELETE", `/v1/services/${s.service}/policies/${again.id}`);
    expect(await client.refresh()).toBe(true);
    const caughtUp = await settledFreshEngine(client, s.service);
    expect(versions()).toEqual({
      policyVersion: caughtUp.policyVersion,
      roleVersion: caughtUp.roleVersion,
      tagVersion: held.tagVersion,
    });
    expect(client.roleVersion).not.toBe(before.roleVersion);
    expect(decisions()).toEqual({ aliceOrders: false, bobInvoices: true });
  });

  it("a tag delta refused in place: tag version, document and decisions stay, and the poll after the fix applies the change in place", async () => {
    const s = await seedTaggedService(t);
    const errors: unknown[] = [];
    const client = await startClient(s.service, [], {
      engineFactory: refusingEngine,
      onError: (err) => errors.push(err),
    });
    const tables = ["orders", "invoices"];
    const decisions = () =>
      tables.map((table) => client.isAccessAllowed(select(s.schema, table, s.alice, [s.analysts])).isAllowed);
    const tag = (table: string) =>
      ok("POST", `/v1/services/${s.service}/tagged-resources`, {
        resourceElements: s.table(table),
        tags: [{ type: s.pii }],
      });
    const held = { tagVersion: client.tagVersion, policyVersion: client.policyVersion };
    const document = structuredClone(client.serviceTags);
    expect(decisions()).toEqual([true, true]);

    await tag("orders");
    const refused = await tag(REFUSED);
    await expect(client.refresh()).rejects.toThrow(/tagged resource refused/);
    expect({ tagVersion: client.tagVersion, policyVersion: client.policyVersion }).toEqual(held);
    expect(client.serviceTags).toEqual(document);
    // the engine had taken the tag on orders before it threw: that engine is not served
    expect(decisions()).toEqual([true, true]);

    await ok("DELETE", `/v1/services/${s.service}/tagged-resources/${refused.id}`);
    expect(await client.refresh()).toBe(true);
    const fresh = await freshEngine(s.service);
    expect(client.tagVersion).toBe(fresh.tagVersion);
    expect(client.tagVersion).toBeGreaterThan(held.tagVersion);
    expect(decisions()).toEqual(
      tables.map((table) => fresh.engine.isAccessAllowed(select(s.schema, table, s.alice, [s.analysts])).isAllowed),
    );
    expect(decisions()).toEqual([false, true]);
    // taken in place: no in-place failure to report
    expect(errors).toEqual([]);
  });
});
