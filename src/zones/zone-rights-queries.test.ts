import type { KyselyPlugin, OperationNode } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { asAdmin, TEST_PSK } from "../../test/support/test-app.ts";
import { TEST_BACKEND, testDb } from "../../test/support/test-db.ts";
import { buildApp } from "../app.ts";
import { hashSecret } from "../auth/secrets.ts";
import { loadConfig } from "../config/load.ts";
import { RANGER_V2 } from "../ranger/admin/policies.routes.ts";
import type { Db } from "../storage/db.ts";

/**
 * Counts the SQL statements a request runs, and among them the reads of the zones' admin and audit
 * lists (one per computation of the caller's zone rights), through a Kysely plugin on the app's
 * database handle: nothing is mocked, the queries run on the real database.
 */
class QueryCounter implements KyselyPlugin {
  total = 0;
  zoneRights = 0;
  transformQuery(args: { node: OperationNode }) {
    this.total++;
    const text = JSON.stringify(args.node);
    if (args.node.kind === "SelectQueryNode" && text.includes('"audit_user_groups"')) this.zoneRights++;
    return args.node as never;
  }
  async transformResult<T>(args: { result: T }): Promise<T> {
    return args.result;
  }
  reset() {
    this.total = 0;
    this.zoneRights = 0;
  }
}

const counter = new QueryCounter();
let app: Awaited<ReturnType<typeof buildApp>>;
let service: string;
let zone: string;
let admin: Record<string, string>;
let auditor: Record<string, string>;

async function inject(method: string, url: string, headers: Record<string, string> = asAdmin, payload?: unknown) {
  const res = await app.inject({
    method: method as "GET",
    url,
    headers: payload === undefined ? headers : { ...headers, "content-type": "application/json" },
    ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
  });
  expect(res.statusCode, `${method} ${url}: ${res.body}`).toBeLessThan(300);
  return res;
}

async function userWithKey(): Promise<{ username: string; headers: Record<string, string> }> {
  const username = uniqueName("u");
  const user = (await inject("POST", "/v1/users", asAdmin, { username })).json();
  const key = (await inject("POST", "/v1/api-keys", asAdmin, { userId: user.id, name: "q" })).json();
  return { username, headers: { "authorization-psk": key.key } };
}

function policyBody(name = uniqueName("p")) {
  return {
    name,
    zoneName: zone,
    resources: { catalog: { values: ["sales"] }, schema: { values: [uniqueName("s")] }, table: { values: ["*"] } },
    policyItems: [{ users: ["someone"], accesses: [{ type: "select" }] }],
  };
}

/** Runs one request and returns how many statements it ran and how often it read the zone rights. */
async function measure(method: string, url: string, who: Record<string, string>, payload?: unknown) {
  counter.reset();
  await inject(method, url, who, payload);
  return { total: counter.total, zoneRights: counter.zoneRights };
}

beforeAll(async () => {
  const base = await testDb();
  const counted = base.kysely.withPlugin(counter);
  const db: Db = { ...base, kysely: counted, transaction: (fn) => counted.transaction().execute(fn) };
  const config = loadConfig({ env: { GATEHOUSE_PSK: TEST_PSK, GATEHOUSE_LOG_LEVEL: "silent" } });
  app = await buildApp({ config, db, generalPskHash: hashSecret(TEST_PSK) });
  await app.ready();
  service = uniqueName("svc");
  await inject("POST", "/v1/services", asAdmin, { name: service, type: "trino" });
  const a = await userWithKey();
  const b = await userWithKey();
  admin = a.headers;
  auditor = b.headers;
  zone = uniqueName("zone");
  await inject("POST", "/v1/zones", asAdmin, {
    name: zone,
    services: { [service]: { resources: [{ catalog: ["sales"] }] } },
    adminUsers: [a.username],
    auditUsers: [b.username],
  });
});
afterAll(() => app.close());

describe(`zone rights per request (${TEST_BACKEND})`, () => {
  it("computes a zone admin's or auditor's zone rights once per request, on every delegated policy route", async () => {
    const policies = `/v1/services/${service}/policies`;
    const created = (await inject("POST", policies, admin, policyBody())).json();
    const v2 = (await inject("POST", `${RANGER_V2}/policy`, admin, { ...policyBody(), service })).json();
    const replaced = policyBody();
    await inject("POST", policies, admin, replaced);
    const runs: Record<string, { total: number; zoneRights: number }> = {
      "GET one (auditor)": await measure("GET", `${policies}/${created.id}`, auditor),
      "GET search (auditor)": await measure("GET", `${policies}?limit=10`, auditor),
      "GET versions (auditor)": await measure("GET", `/v1/policies/${created.id}/versions`, auditor),
      "GET v2 one (auditor)": await measure("GET", `${RANGER_V2}/policy/${v2.id}`, auditor),
      "POST create (admin)": await measure("POST", policies, admin, policyBody()),
      "PATCH (admin)": await measure("PATCH", `${policies}/${created.id}`, admin, { description: "x" }),
      "POST v2 deleteIfExists (admin)": await measure("POST", `${RANGER_V2}/policy?deleteIfExists=true`, admin, {
        ...replaced,
        service,
      }),
      "DELETE v2 (admin)": await measure("DELETE", `${RANGER_V2}/policy/${v2.id}`, admin),
      "DELETE (admin)": await measure("DELETE", `${policies}/${created.id}`, admin),
    };
    if (process.env.GATEHOUSE_PRINT_QUERY_COUNTS) console.table(runs);
    for (const [name, run] of Object.entries(runs)) expect(run.zoneRights, name).toBe(1);
  });

  it("computes no zone rights for callers holding the ability", async () => {
    const run = await measure("GET", `/v1/services/${service}/policies?limit=10`, asAdmin);
    expect(run.zoneRights).toBe(0);
  });
});
