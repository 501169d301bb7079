import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { asAdministrator, userWithKey } from "../zones/zone-test-seed.ts";

let t: TestApp;
let service: string;
/** A fresh schema-name stem, so values of this file's service never collide with others'. */
let stem: string;

/** Creates a trino access policy on `catalog.schema.table` values. */
async function policy(resources: Record<string, string[]>, extra: Record<string, unknown> = {}) {
  await asAdministrator(t, "POST", `/v1/services/${service}/policies`, {
    name: uniqueName("p"),
    resources: Object.fromEntries(Object.entries(resources).map(([k, values]) => [k, { values }])),
    policyItems: [{ users: ["alice"], accesses: [{ type: "select" }] }],
    ...extra,
  });
}

async function values(query: string, headers?: Record<string, string>) {
  const res = await t.request({
    method: "GET",
    url: `/v1/services/${service}/resource-values?${query}`,
    ...(headers ? { headers } : {}),
  });
  return res;
}

beforeAll(async () => {
  t = await testApp();
  service = uniqueName("svc");
  stem = uniqueName("Sales")
    .toLowerCase()
    .replace(/[^a-z0-9]/g, "");
  await asAdministrator(t, "POST", "/v1/services", { name: service, type: "trino" });
  // Three spellings of schemas under one stem, a schema used by two policies, a wildcard, a
  // mixed-case value, and a masking policy's table.
  await policy({ catalog: ["hive"], schema: [`${stem}_eu`, `${stem}_us`], table: ["*"] });
  await policy({ catalog: ["hive"], schema: [`${stem}_eu`], table: ["orders"] });
  await policy({ catalog: ["Lake"], schema: [`${stem.toUpperCase()}_Apac`], table: ["*"] });
  await policy({ catalog: ["hive"], schema: [`${stem}*`], table: ["items"] });
  await policy({ catalog: ["hive"], schema: ["other"], table: ["*"] });
});

describe(`resource values already used (${TEST_BACKEND})`, () => {
  it("answers each value once, starting with the prefix case-insensitively, in byte order, as a policy spells it", async () => {
    const res = await values(`resource=schema&startsWith=${stem.toUpperCase()}`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      resource: "schema",
      items: [
        { value: `${stem}*`, valueLower: `${stem}*` },
        { value: `${stem.toUpperCase()}_Apac`, valueLower: `${stem}_apac` },
        { value: `${stem}_eu`, valueLower: `${stem}_eu` },
        { value: `${stem}_us`, valueLower: `${stem}_us` },
      ],
      hasMore: false,
    });
  });

  it("bounds the answer by pageSize and says that more match", async () => {
    const res = await values(`resource=schema&startsWith=${stem}_&pageSize=2`);
    expect(res.json()).toMatchObject({
      items: [{ valueLower: `${stem}_apac` }, { valueLower: `${stem}_eu` }],
      hasMore: true,
    });
    const exact = await values(`resource=schema&startsWith=${stem}_&pageSize=3`);
    expect(exact.json().hasMore).toBe(false);
  });

  it("answers every value of a level without a prefix, and nothing for a prefix no value has", async () => {
    const catalogs = (await values("resource=catalog")).json();
    expect(catalogs.items.map((v: { value: string }) => v.value)).toEqual(["hive", "Lake"]);
    expect((await values(`resource=schema&startsWith=${stem}zzz`)).json()).toMatchObject({
      items: [],
      hasMore: false,
    });
  });

  it("refuses a resource the service-def does not have, naming the field and the levels", async () => {
    const res = await values("resource=column_family");
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe("VALIDATION_FAILED");
    expect(res.json().details[0]).toMatchObject({ field: "query.resource", rule: "resourceOfServiceDef" });
    expect(res.json().message).toContain("`schema`");
    const big = await values("resource=schema&pageSize=101");
    expect(big.statusCode).toBe(400);
    expect(big.json().details[0].field).toBe("query.pageSize");
    const missing = await t.request({ method: "GET", url: "/v1/services/no-such-service/resource-values?resource=a" });
    expect(missing.statusCode).toBe(404);
  });

  it("needs policy.read: a user without roles is refused", async () => {
    const nobody = await userWithKey(t);
    const res = await values("resource=schema", nobody.headers);
    expect(res.statusCode).toBe(403);
  });

  it("answers a zone auditor the values of its zone's policies only", async () => {
    const zone = uniqueName("zone");
    const auditor = await userWithKey(t);
    await asAdministrator(t, "POST", "/v1/zones", {
      name: zone,
      services: { [service]: { resources: [{ catalog: ["zoned"] }] } },
      adminUsers: ["someone"],
      auditUsers: [auditor.username],
    });
    await policy({ catalog: ["zoned"], schema: [`${stem}_zoned`], table: ["*"] }, { zoneName: zone });
    const seen = await values(`resource=schema&startsWith=${stem}`, auditor.headers);
    expect(seen.statusCode, seen.body).toBe(200);
    expect(seen.json().items.map((v: { value: string }) => v.value)).toEqual([`${stem}_zoned`]);
    const everywhere = await values(`resource=schema&startsWith=${stem}_`);
    expect(everywhere.json().items.map((v: { value: string }) => v.value)).toContain(`${stem}_zoned`);
  });

  it("reads migration 0022's index, one probe per value", async () => {
    const plan = await t.db.transaction(async (tx) => {
      await sql`set local enable_seqscan = off`.execute(tx);
      const rows = await sql<{ "QUERY PLAN": string }>`explain
        select pr.value_lower collate "C" from policy_resources pr
         where pr.service_id = 1 and pr.resource_name = 'schema' and pr.value_lower collate "C" > 'sales'
         order by pr.value_lower collate "C" limit 1`.execute(tx);
      return rows.rows.map((r) => r["QUERY PLAN"]).join("\n");
    });
    expect(plan).toContain("policy_resources_values");
    expect(plan).not.toContain("Sort");
  });
});
