import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drained as drainedIn, ok as okAs } from "../../test/support/connectors.ts";
import { uniqueName } from "../../test/support/factories.ts";
import { type RangerTargetServer, startRangerTarget } from "../../test/support/ranger-target.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";

// A ranger connector's policies (docs/connectors.md, Policies): a Gatehouse service mapped to a
// Ranger service, pushed through Ranger's public v2 API to a second Gatehouse server process
// (test/support/ranger-target.ts) on real HTTP. One target and one app for the whole file.

let t: TestApp;
let ranger: RangerTargetServer;
beforeAll(async () => {
  [t, ranger] = await Promise.all([
    testApp({
      GATEHOUSE_CONNECTOR_RETRY_MAX_MS: "300",
      GATEHOUSE_CONNECTOR_RECONCILE_SECONDS: "0",
      GATEHOUSE_CONNECTOR_MAX_ATTEMPTS: "1000",
    }),
    startRangerTarget(),
  ]);
}, 600_000); // a server process starts in seconds on an idle machine, in minutes on a loaded one
const created: string[] = [];
afterAll(async () => {
  // the test database is shared: leave no connector behind for other files' apps to lead
  for (const id of created) await t?.request({ method: "DELETE", url: `/v1/connectors/${id}` });
  await t?.app.close();
  await ranger?.destroy();
});

const ok = (method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE", url: string, payload?: unknown) =>
  okAs(t, method, url, payload);
const V2 = "/service/public/v2/api";

interface RemotePolicy {
  id: number;
  name: string;
  version: number;
  service: string;
  policyLabels: string[];
  policyItems: { users?: string[] }[];
}

/** A trino access policy on one schema, granting `select` to `user`. */
function accessPolicy(name: string, schema: string, user: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    resources: { catalog: { values: ["hive"] }, schema: { values: [schema] }, table: { values: ["*"] } },
    policyItems: [{ users: [user], accesses: [{ type: "select" }] }],
    ...extra,
  };
}

/** A Gatehouse service here, a Ranger service on the target, a connector mapping one to the other. */
async function setup() {
  const tag = uniqueName("p").slice(2, 10).toLowerCase();
  const source = `src-${tag}`;
  const other = `oth-${tag}`;
  const dest = `dst_${tag}`;
  await ok("POST", "/v1/services", { name: source, type: "trino" });
  await ok("POST", "/v1/services", { name: other, type: "trino" });
  const made = await ranger.call("POST", `${V2}/service`, { name: dest, type: "trino" });
  expect(made.status, JSON.stringify(made.body)).toBeLessThan(300);
  const org = (await ok("POST", "/v1/orgs", { name: uniqueName("org") })).id as string;
  const connector = await ok("POST", "/v1/connectors", {
    name: uniqueName("ranger"),
    kind: "ranger",
    orgIds: [org],
    config: {
      baseUrl: ranger.url,
      username: ranger.username,
      maxAttempts: 1000,
      retryMaxMs: 300,
      policies: { services: { [source]: dest } },
    },
    password: ranger.password,
  });
  created.push(connector.id);
  return { tag, source, other, dest, connector: connector.id as string };
}

const drained = (connector: string) => drainedIn(t, connector);

/** The target's policy of `service` named `name`, or null. */
async function remote(service: string, name: string): Promise<RemotePolicy | null> {
  const res = await ranger.call("GET", `${V2}/service/${service}/policy/${encodeURIComponent(name)}`);
  if (res.status === 404) return null;
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as RemotePolicy;
}

async function remoteNames(service: string): Promise<string[]> {
  const res = await ranger.call("GET", `${V2}/service/${service}/policy?pageSize=1000`);
  return (res.body as RemotePolicy[]).map((p) => p.name).sort();
}

describe("connectors: policies pushed to Ranger", () => {
  it("refuses a mapping naming an unknown service, a bad Ranger name, a Ranger service twice, or a keycloak kind", async () => {
    const service = `svc-${uniqueName("v").slice(2, 10)}`;
    await ok("POST", "/v1/services", { name: service, type: "trino" });
    const base = { name: uniqueName("c"), kind: "ranger", password: "p" };
    const config = { baseUrl: ranger.url, username: "u" };
    const post = (payload: unknown) => t.request({ method: "POST", url: "/v1/connectors", payload: payload as object });

    const unknown = await post({ ...base, config: { ...config, policies: { services: { "no-such-svc": "x" } } } });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json().details[0].field).toBe("body.config.policies.services.no-such-svc");
    const badName = await post({ ...base, config: { ...config, policies: { services: { [service]: "a b" } } } });
    expect(badName.statusCode).toBe(400);
    expect(badName.body).toContain("policies");
    const twice = await post({
      ...base,
      config: { ...config, policies: { services: { [service]: "dst", trino: "DST" } } },
    });
    expect(twice.statusCode).toBe(400);
    expect(twice.json().details[0].rule).toBe("unique");
    const keycloak = await post({
      ...base,
      kind: "keycloak",
      clientSecret: "s",
      config: { ...config, realm: "r", clientId: "c", policies: { services: { [service]: "dst" } } },
    });
    expect(keycloak.statusCode).toBe(400);
    expect(keycloak.json().details[0].field).toBe("body.config.policies");
    // the OpenAPI document covers the setting and the reconcile report's policies
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).body;
    expect(doc).toContain("Gatehouse service name → Ranger service name");
    expect(doc).toContain("ReconcilePolicyDifference");
  });

  it("carries create, update, rename and delete; not an unmapped service's policy, not a rolled-back write; a replay changes nothing", async () => {
    const { tag, source, other, dest, connector } = await setup();
    const p1 = await ok("POST", `/v1/services/${source}/policies`, accessPolicy(`p1-${tag}`, "s1", "alice"));
    await ok("POST", `/v1/services/${other}/policies`, accessPolicy(`q-${tag}`, "s1", "alice"));

    // a write that rolls back queued its row in its transaction, and the row went with it
    const service = await t.db.kysely
      .selectFrom("services")
      .where("name", "=", source)
      .select("id")
      .executeTakeFirstOrThrow();
    await expect(
      t.db.transaction(async (tx) => {
        await sql`insert into policies (service_id, name, resource_signature, body)
                  values (${service.id}, ${`rolled-${tag}`}, ${`sig-${tag}`}, '{}'::jsonb)`.execute(tx);
        const queued = await sql<{ n: number }>`select count(*)::int as n from connector_policy_outbox
          where connector_id = ${connector}::uuid and policy_name = ${`rolled-${tag}`}`.execute(tx);
        expect(queued.rows[0]?.n).toBe(1);
        throw new Error("roll back");
      }),
    ).rejects.toThrow("roll back");

    await drained(connector);
    const first = await remote(dest, `p1-${tag}`);
    expect(first).toMatchObject({
      service: dest,
      policyLabels: ["gatehouse"],
      policyItems: [expect.objectContaining({ users: ["alice"] })],
    });
    expect(await remoteNames(dest)).toEqual([`p1-${tag}`]); // not q (unmapped), not the rolled-back one
    const anywhere = await ranger.call("GET", `${V2}/policy?policyName=q-${tag}`);
    expect(anywhere.body).toEqual([]);

    await ok(
      "PUT",
      `/v1/services/${source}/policies/${p1.id}`,
      accessPolicy(`p1-${tag}`, "s1", "bob", { description: "now bob" }),
    );
    await drained(connector);
    const updated = await remote(dest, `p1-${tag}`);
    expect(updated).toMatchObject({ id: first?.id, policyItems: [expect.objectContaining({ users: ["bob"] })] });

    // replay: the outbox row sent again finds the target already right and writes nothing
    await sql`insert into connector_policy_outbox (connector_id, policy_id, service_name, policy_name)
              values (${connector}::uuid, ${p1.id}, ${source}, ${`p1-${tag}`})`.execute(t.db.kysely);
    await drained(connector);
    expect((await remote(dest, `p1-${tag}`))?.version).toBe(updated?.version);

    // a rename renames the target's policy in place (same id): it is never missing in between
    await ok("PATCH", `/v1/services/${source}/policies/${p1.id}`, { name: `p1b-${tag}` });
    await drained(connector);
    expect(await remoteNames(dest)).toEqual([`p1b-${tag}`]);
    expect((await remote(dest, `p1b-${tag}`))?.id).toBe(first?.id);

    await ok("DELETE", `/v1/services/${source}/policies/${p1.id}`);
    await drained(connector);
    expect(await remoteNames(dest)).toEqual([]);
    const status = await ok("GET", `/v1/connectors/${connector}/status`);
    expect(status).toMatchObject({ pending: 0, failing: 0, deadLettered: 0 });
  });

  it("converges when two policies swap names in one round (each replace collides with the other's old state)", async () => {
    const { tag, source, dest, connector } = await setup();
    const a = await ok("POST", `/v1/services/${source}/policies`, accessPolicy(`a-${tag}`, "s1", "alice"));
    const b = await ok("POST", `/v1/services/${source}/policies`, accessPolicy(`b-${tag}`, "s2", "bob"));
    await drained(connector);
    // disabled, the connector queues the three renames and delivers them in one round
    await ok("POST", `/v1/connectors/${connector}/disable`);
    await ok("PATCH", `/v1/services/${source}/policies/${a.id}`, { name: `tmp-${tag}` });
    await ok("PATCH", `/v1/services/${source}/policies/${b.id}`, { name: `a-${tag}` });
    await ok("PATCH", `/v1/services/${source}/policies/${a.id}`, { name: `b-${tag}` });
    await ok("POST", `/v1/connectors/${connector}/enable`);
    await drained(connector);
    expect(await remoteNames(dest)).toEqual([`a-${tag}`, `b-${tag}`]);
    expect((await remote(dest, `a-${tag}`))?.policyItems).toEqual([expect.objectContaining({ users: ["bob"] })]);
    expect((await remote(dest, `b-${tag}`))?.policyItems).toEqual([expect.objectContaining({ users: ["alice"] })]);
    const dry = await ok("POST", `/v1/connectors/${connector}/reconcile?dryRun=true`);
    expect(dry.policies.counts).toEqual({ missing: 0, different: 0, extra: 0 });
  });

  it("reconciles: a dry run lists missing, different and extra policies; the repair removes them and leaves others' alone", async () => {
    const { tag, source, dest, connector } = await setup();
    await ok("POST", `/v1/services/${source}/policies`, accessPolicy(`a-${tag}`, "sa", "alice"));
    await ok("POST", `/v1/services/${source}/policies`, accessPolicy(`b-${tag}`, "sb", "alice"));
    await drained(connector);
    // by hand on the target: a deleted, b changed, an extra one carrying Gatehouse's label, and
    // one of the site's own (no label)
    const a = await remote(dest, `a-${tag}`);
    const b = await remote(dest, `b-${tag}`);
    expect(a && b).toBeTruthy();
    expect((await ranger.call("DELETE", `${V2}/policy/${a?.id}`)).status).toBe(204);
    const changed = await ranger.call("PUT", `${V2}/policy/${b?.id}`, {
      ...accessPolicy(`b-${tag}`, "sb", "mallory"),
      service: dest,
      policyLabels: ["gatehouse"],
    });
    expect(changed.status, JSON.stringify(changed.body)).toBe(200);
    for (const [name, labels] of [
      [`x-${tag}`, ["gatehouse"]],
      [`site-${tag}`, []],
    ] as const) {
      const res = await ranger.call("POST", `${V2}/policy`, {
        ...accessPolicy(name, `s-${name}`, "carol"),
        service: dest,
        policyLabels: labels,
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }

    const dry = await ok("POST", `/v1/connectors/${connector}/reconcile?dryRun=true`);
    expect(dry.policies).toMatchObject({ desired: 2, onTarget: 3, counts: { missing: 1, different: 1, extra: 1 } });
    expect(dry.policies.differences).toEqual(
      expect.arrayContaining([
        { kind: "missing", policyId: expect.any(Number), service: dest, name: `a-${tag}`, zone: "" },
        { kind: "different", policyId: expect.any(Number), service: dest, name: `b-${tag}`, zone: "" },
        { kind: "extra", service: dest, name: `x-${tag}`, zone: "" },
      ]),
    );
    expect(await remoteNames(dest)).toEqual([`b-${tag}`, `site-${tag}`, `x-${tag}`]); // the dry run changed nothing

    const repair = await ok("POST", `/v1/connectors/${connector}/reconcile`);
    expect(repair.policies.repaired).toBe(3);
    expect(await remoteNames(dest)).toEqual([`a-${tag}`, `b-${tag}`, `site-${tag}`]);
    expect((await remote(dest, `b-${tag}`))?.policyItems).toEqual([expect.objectContaining({ users: ["alice"] })]);
    const again = await ok("POST", `/v1/connectors/${connector}/reconcile?dryRun=true`);
    expect(again.policies.counts).toEqual({ missing: 0, different: 0, extra: 0 });
  });
});
