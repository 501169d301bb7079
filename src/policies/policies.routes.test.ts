import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { POLICY_NAME_TEXT } from "./policies.store.ts";

let t: TestApp;
let service: string;

/** A trino access policy on one schema, granting `select` to a user. */
function accessPolicy(name: string, schema: string, extra: Record<string, unknown> = {}) {
  return {
    name,
    resources: { catalog: { values: ["hive"] }, schema: { values: [schema] }, table: { values: ["*"] } },
    policyItems: [{ users: ["alice"], accesses: [{ type: "select" }] }],
    ...extra,
  };
}

beforeAll(async () => {
  t = await testApp();
  service = uniqueName("svc");
  const res = await t.request({ method: "POST", url: "/v1/services", payload: { name: service, type: "trino" } });
  expect(res.statusCode).toBe(201);
});

describe(`policies (${TEST_BACKEND})`, () => {
  it("ships the trino service and the built-in service-defs", async () => {
    const services = await t.request({ method: "GET", url: "/v1/services?type=trino" });
    expect(services.json().items.map((s: { name: string }) => s.name)).toContain("trino");
    for (const name of ["trino", "hive", "hdfs"]) {
      const def = await t.request({ method: "GET", url: `/v1/service-defs/${name}` });
      expect(def.statusCode).toBe(200);
      expect(def.json().name).toBe(name);
    }
  });

  it("creates, reads, patches, disables and deletes a policy, bumping the service version each time", async () => {
    const before = (await t.request({ method: "GET", url: `/v1/services/${service}` })).json().policyVersion;
    const created = await t.request({
      method: "POST",
      url: `/v1/services/${service}/policies`,
      payload: accessPolicy(uniqueName("p"), uniqueName("s")),
    });
    expect(created.statusCode).toBe(201);
    const policy = created.json();
    expect(policy).toMatchObject({ service, serviceType: "trino", version: 1, isEnabled: true });
    expect(policy.resourceSignature).toMatch(/^[0-9a-f]{64}$/);

    const got = await t.request({ method: "GET", url: `/v1/services/${service}/policies/${policy.id}` });
    expect(got.json().name).toBe(policy.name);

    const patched = await t.request({
      method: "PATCH",
      url: `/v1/services/${service}/policies/${policy.id}`,
      payload: { description: "changed", policyLabels: ["pii"] },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ description: "changed", version: 2, policyLabels: ["pii"] });

    const disabled = await t.request({ method: "POST", url: `/v1/services/${service}/policies/${policy.id}/disable` });
    expect(disabled.json()).toMatchObject({ isEnabled: false, version: 3 });

    const after = (await t.request({ method: "GET", url: `/v1/services/${service}` })).json().policyVersion;
    expect(after).toBe(before + 3);

    const deltas = await t.request({
      method: "GET",
      url: `/v1/services/${service}/policy-deltas?sinceVersion=${before}`,
    });
    expect(deltas.json().policyDeltas.map((d: { changeType: number }) => d.changeType)).toEqual([0, 1, 1]);

    const deleted = await t.request({ method: "DELETE", url: `/v1/services/${service}/policies/${policy.id}` });
    expect(deleted.statusCode).toBe(204);
    const gone = await t.request({ method: "GET", url: `/v1/policies/${policy.id}` });
    expect(gone.statusCode).toBe(404);
    expect(gone.json().code).toBe("POLICY_NOT_FOUND");
  });

  it("rejects a taken name and an identical resource set with 409 naming the existing policy", async () => {
    const schema = uniqueName("s");
    const first = await t.request({
      method: "POST",
      url: `/v1/services/${service}/policies`,
      payload: accessPolicy(uniqueName("p"), schema),
    });
    const name = first.json().name;
    const sameName = await t.request({
      method: "POST",
      url: `/v1/services/${service}/policies`,
      payload: accessPolicy(name, uniqueName("s")),
    });
    expect(sameName.statusCode).toBe(409);
    expect(sameName.json()).toMatchObject({ code: "POLICY_NAME_TAKEN", meta: { policyId: first.json().id } });

    const sameResources = await t.request({
      method: "POST",
      url: `/v1/services/${service}/policies`,
      payload: accessPolicy(uniqueName("p"), schema),
    });
    expect(sameResources.statusCode).toBe(409);
    expect(sameResources.json().code).toBe("POLICY_DUPLICATE_RESOURCES");
    expect(sameResources.json().message).toContain(name);

    // A masking policy on the same resources is another type: allowed.
    const mask = await t.request({
      method: "POST",
      url: `/v1/services/${service}/policies`,
      payload: {
        name: uniqueName("m"),
        policyType: 1,
        resources: {
          catalog: { values: ["hive"] },
          schema: { values: [schema] },
          table: { values: ["t"] },
          column: { values: ["ssn"] },
        },
        dataMaskPolicyItems: [
          { groups: ["analysts"], accesses: [{ type: "select" }], dataMaskInfo: { dataMaskType: "MASK_HASH" } },
        ],
      },
    });
    expect(mask.statusCode).toBe(201);
  });

  it.each([
    [{ resources: { catalog: { values: ["c"] }, bogus: { values: ["x"] } } }, "body.resources.bogus", "resourceKnown"],
    [{ resources: { catalog: { values: ["c"] }, table: { values: ["t"] } } }, "body.resources", "hierarchy"],
    [{ resources: { catalog: { values: ["c"] }, column: { values: ["x"] } } }, "body.resources", "hierarchy"],
    [
      { resources: { catalog: { values: ["c"], isRecursive: true } } },
      "body.resources.catalog.isRecursive",
      "recursiveSupported",
    ],
    [
      { resources: { trinouser: { values: ["bob"], isExcludes: true } } },
      "body.resources.trinouser.isExcludes",
      "excludesSupported",
    ],
    [
      { policyItems: [{ users: ["a"], accesses: [{ type: "fly" }] }] },
      "body.policyItems[0].accesses[0].type",
      "accessTypeKnown",
    ],
    [{ policyItems: [{ accesses: [{ type: "select" }] }] }, "body.policyItems[0]", "principal"],
    [
      { dataMaskPolicyItems: [{ users: ["a"], dataMaskInfo: { dataMaskType: "MASK" } }] },
      "body.dataMaskPolicyItems",
      "itemsForType",
    ],
    [
      {
        policyType: 1,
        resources: {
          catalog: { values: ["c"] },
          schema: { values: ["s"] },
          table: { values: ["t"] },
          column: { values: ["c"] },
        },
        policyItems: [],
        dataMaskPolicyItems: [{ users: ["a"], dataMaskInfo: { dataMaskType: "SCRAMBLE" } }],
      },
      "body.dataMaskPolicyItems[0].dataMaskInfo.dataMaskType",
      "maskTypeKnown",
    ],
    [
      {
        policyType: 2,
        resources: { catalog: { values: ["c"] }, schema: { values: ["s"] } },
        policyItems: [],
        rowFilterPolicyItems: [{ users: ["a"], rowFilterInfo: { filterExpr: "x > 1" } }],
      },
      "body.resources",
      "hierarchy",
    ],
    [
      { isDenyAllElse: true, denyPolicyItems: [{ users: ["a"], accesses: [{ type: "select" }] }] },
      "body.denyPolicyItems",
      "denyAllElse",
    ],
  ])("rejects invalid policy %# naming the field", async (change, field, rule) => {
    const res = await t.request({
      method: "POST",
      url: `/v1/services/${service}/policies`,
      payload: { ...accessPolicy(uniqueName("p"), uniqueName("s")), ...change },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe("POLICY_INVALID");
    expect(res.json().details).toContainEqual(expect.objectContaining({ field, rule }));
  });

  it("searches by name, user, label and resource with match scopes", async () => {
    const schema = uniqueName("sales");
    const user = uniqueName("u");
    const label = uniqueName("l");
    const mk = (payload: Record<string, unknown>) =>
      t.request({ method: "POST", url: `/v1/services/${service}/policies`, payload });
    const tableLevel = (
      await mk({
        name: uniqueName("tbl"),
        resources: { catalog: { values: ["hive"] }, schema: { values: [schema] }, table: { values: ["orders"] } },
        policyItems: [{ users: [user], accesses: [{ type: "select" }] }],
        policyLabels: [label],
      })
    ).json();
    const schemaLevel = (
      await mk({
        name: uniqueName("sch"),
        resources: { catalog: { values: ["hive"] }, schema: { values: [schema] } },
        policyItems: [{ users: [user], accesses: [{ type: "use" }] }],
      })
    ).json();
    const wild = (
      await mk({
        name: uniqueName("wild"),
        resources: { catalog: { values: ["hive"] }, schema: { values: [`${schema.slice(0, 8)}*`] } },
        policyItems: [{ groups: ["g"], accesses: [{ type: "show" }] }],
      })
    ).json();
    const catalogLevel = (
      await mk({
        name: uniqueName("cat"),
        resources: { catalog: { values: [uniqueName("cat")] } },
        policyItems: [{ users: [user], accesses: [{ type: "use" }] }],
      })
    ).json();
    const search = async (query: string) => {
      const res = await t.request({ method: "GET", url: `/v1/services/${service}/policies?${query}` });
      expect(res.statusCode).toBe(200);
      return res.json() as { items: { id: number }[]; total: number };
    };
    const ids = (r: { items: { id: number }[] }) => r.items.map((p) => p.id).sort();

    expect(ids(await search(`user=${user}`))).toEqual([tableLevel.id, schemaLevel.id, catalogLevel.id].sort());
    expect(ids(await search(`policyLabel=${label}`))).toEqual([tableLevel.id]);
    expect(ids(await search(`policyName=${schemaLevel.name}`))).toEqual([schemaLevel.id]);
    expect(ids(await search(`policyNamePartial=${wild.name.slice(0, 14).toUpperCase()}`))).toEqual([wild.id]);
    expect(ids(await search(`resource:catalog=hive&resource:schema=${schema}`))).toEqual(
      [schemaLevel.id, wild.id].sort(),
    );
    expect(ids(await search(`resource:schema=${schema}&resource:table=orders`))).toEqual([tableLevel.id]);
    const ancestors = await search(
      `resource:schema=${schema}&resource:table=orders&resourceMatchScope=ancestor&user=${user}`,
    );
    expect(ids(ancestors)).toEqual([schemaLevel.id, catalogLevel.id].sort());

    const page = await search(`user=${user}&limit=2`);
    expect(page.items).toHaveLength(2);
    expect(page.total).toBe(3);
  });

  it("searches by part of a name through migration 0021's trigram index", async () => {
    const plan = await t.db.transaction(async (tx) => {
      await sql`set local enable_seqscan = off`.execute(tx);
      const rows = await sql<{ "QUERY PLAN": string }>`explain select p.id from policies p
        where ${POLICY_NAME_TEXT} like ${"%bench-37%"}`.execute(tx);
      return rows.rows.map((r) => r["QUERY PLAN"]).join("\n");
    });
    expect(plan).toContain("policies_name_trgm");
  });

  it("counts and pages a service's policies of one type through migration 0023's index", async () => {
    const plans = await t.db.transaction(async (tx) => {
      await sql`set local enable_seqscan = off`.execute(tx);
      const count = await sql<{ "QUERY PLAN": string }>`explain select count(*) from policies p
        where p.service_id = 1 and p.policy_type = 1`.execute(tx);
      const page = await sql<{ "QUERY PLAN": string }>`explain select p.id from policies p
        where p.service_id = 1 and p.policy_type = 1 and p.id > 10 order by p.id limit 25`.execute(tx);
      return [count, page].map((plan) => plan.rows.map((r) => r["QUERY PLAN"]).join("\n"));
    });
    for (const plan of plans) expect(plan).toContain("policies_service_type_id");
  });

  it("keeps versions, diffs and reverts", async () => {
    const created = (
      await t.request({
        method: "POST",
        url: `/v1/services/${service}/policies`,
        payload: accessPolicy(uniqueName("p"), uniqueName("s")),
      })
    ).json();
    await t.request({
      method: "PATCH",
      url: `/v1/services/${service}/policies/${created.id}`,
      payload: { policyItems: [{ users: ["bob"], accesses: [{ type: "select" }, { type: "insert" }] }] },
    });
    const versions = (await t.request({ method: "GET", url: `/v1/policies/${created.id}/versions` })).json().items;
    expect(versions.map((v: { version: number; current: boolean }) => [v.version, v.current])).toEqual([
      [2, true],
      [1, false],
    ]);
    const diff = (await t.request({ method: "GET", url: `/v1/policies/${created.id}/versions/1/diff` })).json();
    expect(diff.changes).toContainEqual({
      path: "policyItems[0].users[0]",
      op: "changed",
      before: "alice",
      after: "bob",
    });
    const reverted = await t.request({
      method: "POST",
      url: `/v1/policies/${created.id}/revert`,
      payload: { version: 1 },
    });
    expect(reverted.statusCode).toBe(200);
    expect(reverted.json().version).toBe(3);
    expect(reverted.json().policyItems[0].users).toEqual(["alice"]);
  });

  it("exports and imports with merge, replace and dry run", async () => {
    const source = uniqueName("src");
    const dest = uniqueName("dst");
    for (const name of [source, dest]) {
      await t.request({ method: "POST", url: "/v1/services", payload: { name, type: "trino" } });
    }
    for (let i = 0; i < 3; i++) {
      await t.request({
        method: "POST",
        url: `/v1/services/${source}/policies`,
        payload: accessPolicy(`p${i}`, `s${i}`),
      });
    }
    await t.request({ method: "POST", url: `/v1/services/${dest}/policies`, payload: accessPolicy("old", "old") });
    const file = (await t.request({ method: "GET", url: `/v1/services/${source}/export` })).json();
    expect(file.policies).toHaveLength(3);
    expect(file.metaDataInfo["Exported by"]).toBeTruthy();

    const dry = await t.request({
      method: "POST",
      url: `/v1/services/${dest}/import?mode=replace&dryRun=true`,
      payload: file,
    });
    expect(dry.json()).toMatchObject({ applied: false, created: ["p0", "p1", "p2"], deleted: ["old"] });
    expect((await t.request({ method: "GET", url: `/v1/services/${dest}/policies` })).json().total).toBe(1);

    const real = await t.request({ method: "POST", url: `/v1/services/${dest}/import?mode=replace`, payload: file });
    expect(real.json()).toMatchObject({ applied: true, created: ["p0", "p1", "p2"], deleted: ["old"] });
    const again = await t.request({ method: "POST", url: `/v1/services/${dest}/import`, payload: file });
    expect(again.json()).toMatchObject({ applied: true, unchanged: ["p0", "p1", "p2"], created: [] });
  });

  it("imports more policies than one write slice, all or nothing", async () => {
    const dest = uniqueName("big");
    await t.request({ method: "POST", url: "/v1/services", payload: { name: dest, type: "trino" } });
    const policies = Array.from({ length: 1200 }, (_, i) => accessPolicy(`p${i}`, `s${i}`));
    const broken = [
      ...policies,
      { ...accessPolicy("bad", "bad"), policyItems: [{ users: ["a"], accesses: [{ type: "fly" }] }] },
    ];
    const failed = await t.request({
      method: "POST",
      url: `/v1/services/${dest}/import`,
      payload: { policies: broken },
    });
    expect(failed.json()).toMatchObject({ applied: false });
    expect(failed.json().failed).toEqual([expect.objectContaining({ index: 1200, name: "bad" })]);
    expect((await t.request({ method: "GET", url: `/v1/services/${dest}/policies?limit=1` })).json().total).toBe(0);

    const ok = await t.request({ method: "POST", url: `/v1/services/${dest}/import`, payload: { policies } });
    expect(ok.json()).toMatchObject({ applied: true });
    expect(ok.json().created).toHaveLength(1200);
    const service = (await t.request({ method: "GET", url: `/v1/services/${dest}` })).json();
    expect(service.policyVersion).toBe(1200);
  });

  it("validates custom service-defs", async () => {
    const bad = await t.request({
      method: "POST",
      url: "/v1/service-defs",
      payload: { name: uniqueName("def"), resources: [{ name: "a", parent: "nope" }], accessTypes: [{ name: "read" }] },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details).toContainEqual(expect.objectContaining({ field: "body.resources[0].parent" }));
    const name = uniqueName("def");
    const good = await t.request({
      method: "POST",
      url: "/v1/service-defs",
      payload: {
        name,
        resources: [
          { name: "bucket", level: 10, mandatory: true },
          { name: "key", level: 20, parent: "bucket", recursiveSupported: true },
        ],
        accessTypes: [{ name: "read" }, { name: "write" }, { name: "all", impliedGrants: ["read", "write"] }],
      },
    });
    expect(good.statusCode).toBe(201);
    const svc = uniqueName("s3");
    expect(
      (await t.request({ method: "POST", url: "/v1/services", payload: { name: svc, type: name } })).statusCode,
    ).toBe(201);
    const policy = await t.request({
      method: "POST",
      url: `/v1/services/${svc}/policies`,
      payload: {
        name: "p",
        resources: { bucket: { values: ["b"] }, key: { values: ["/a"], isRecursive: true } },
        policyItems: [{ users: ["u"], accesses: [{ type: "all" }] }],
      },
    });
    expect(policy.statusCode).toBe(201);
  });
});
