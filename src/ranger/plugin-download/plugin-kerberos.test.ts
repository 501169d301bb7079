import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDirectoryAdmin, uniqueName } from "../../../test/support/factories.ts";
import { startTestKdc, type TestKdc } from "../../../test/support/kdc.ts";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../../test/support/test-db.ts";
import { ConfigError, loadConfig } from "../../config/load.ts";
import { seedService } from "../../decisions/test-seed.ts";

type KerberosAddon = typeof import("kerberos");
const kerberos = createRequire(import.meta.url)("kerberos") as KerberosAddon;

// A real MIT KDC (test/support/kdc.ts), a keytab for Gatehouse's HTTP/localhost, and two plugin
// principals: hive (in the service's allow lists) and trino (not). The client side of SPNEGO is
// the same GSS-API library a Ranger plugin's JVM would reach through its Kerberos login.
let kdc: TestKdc;
let t: TestApp;
let hiveCache: string;
let trinoCache: string;
let s: Awaited<ReturnType<typeof seedService>>;

/** A fresh SPNEGO token for `HTTP@localhost` from the principal whose tickets are in `cache`. */
async function negotiate(cache: string): Promise<string> {
  process.env.KRB5CCNAME = cache;
  const client = await kerberos.initializeClient("HTTP@localhost", { mechOID: kerberos.GSS_MECH_OID_SPNEGO });
  return `Negotiate ${await client.step("")}`;
}

/** A request with a fresh SPNEGO token of the principal whose tickets are in `cache`. */
const send = async (cache: string, method: "GET" | "POST" | "PUT" | "DELETE", url: string, payload?: object) =>
  t.app.inject({
    method,
    url,
    headers: { authorization: await negotiate(cache) },
    ...(payload ? { payload } : {}),
  });

const get = (url: string, authorization?: string) =>
  t.app.inject({ method: "GET", url, headers: authorization ? { authorization } : {} });

beforeAll(async () => {
  kdc = await startTestKdc();
  process.env.KRB5_CONFIG = kdc.krb5Conf;
  const http = kdc.keytab("HTTP/localhost");
  hiveCache = kdc.kinit("hive/worker1.example", kdc.keytab("hive/worker1.example"));
  trinoCache = kdc.kinit("trino/worker2.example", kdc.keytab("trino/worker2.example"));
  t = await testApp({
    GATEHOUSE_KERBEROS_KEYTAB: http,
    GATEHOUSE_KERBEROS_REALM: kdc.realm,
    GATEHOUSE_KERBEROS_SERVICE: "HTTP@localhost",
    // the route walk below presents a Negotiate token to every route: each refusal counts as a failure
    GATEHOUSE_AUTH_FAILURE_LIMIT: "100000",
  });
  s = await seedService(t);
  const configs = {
    "policy.download.auth.users": "hdfs, HIVE",
    "tag.download.auth.users": "hive",
    "policy.grantrevoke.auth.users": "hive",
  };
  const patched = await t.request({ method: "PATCH", url: `/v1/services/${s.service}`, payload: { configs } });
  expect(patched.statusCode, patched.body).toBe(200);
});
afterAll(async () => {
  await t?.app.close();
  await kdc?.stop();
});

describe(`Ranger plugins on a Kerberised cluster: SPNEGO on the /secure/ paths (${TEST_BACKEND})`, () => {
  it("challenges with Negotiate, then serves a listed principal's policies, roles and tags", async () => {
    const url = `/service/plugins/secure/policies/download/${s.service}?pluginId=hive@worker1`;
    const challenged = await get(url);
    expect(challenged.statusCode).toBe(401);
    expect(String(challenged.headers["www-authenticate"])).toMatch(/^Negotiate, /);

    const policies = await get(url, await negotiate(hiveCache));
    expect(policies.statusCode, policies.body).toBe(200);
    expect(policies.json()).toMatchObject({ serviceName: s.service });
    expect(policies.json().policies).toHaveLength(1);
    expect((await get(`/service/roles/secure/download/${s.service}`, await negotiate(hiveCache))).statusCode).toBe(200);
    expect((await get(`/service/tags/secure/download/${s.service}`, await negotiate(hiveCache))).statusCode).toBe(200);
  });

  it("refuses a principal missing from the service's allow list with 403 naming the list", async () => {
    const res = await get(`/service/plugins/secure/policies/download/${s.service}`, await negotiate(trinoCache));
    expect(res.statusCode).toBe(403);
    expect(res.json().message).toMatch(
      /`trino` \(Kerberos trino\/worker2\.example@GATEHOUSE\.TEST\) is not in the service's policy\.download\.auth\.users or policy\.grantrevoke\.auth\.users/,
    );
    const tags = await get(`/service/tags/secure/download/${s.service}`, await negotiate(trinoCache));
    expect(tags.statusCode).toBe(403);
    expect(tags.json().message).toMatch(/tag\.download\.auth\.users/);
  });

  it("refuses a replayed token and a malformed one with 401", async () => {
    const token = await negotiate(hiveCache);
    const url = `/service/plugins/secure/policies/download/${s.service}`;
    expect((await get(url, token)).statusCode).toBe(200);
    const replayed = await get(url, token);
    expect(replayed.statusCode).toBe(401);
    expect(replayed.json().message).toMatch(/Kerberos \(SPNEGO\) token was refused/);
    expect((await get(url, "Negotiate YIIBnw==")).statusCode).toBe(401);
  });

  it("lets a listed principal GRANT through the secure path, held to policy.grantrevoke.auth.users", async () => {
    // alice may administer the schema (delegated admin), as a data owner would
    const owners = await t.request({
      method: "POST",
      url: `/v1/services/${s.service}/policies`,
      payload: {
        name: `owners-${s.schema}`,
        resources: { catalog: { values: ["sales"] }, schema: { values: [s.schema] }, table: { values: ["*"] } },
        policyItems: [{ users: [s.alice], accesses: [{ type: "select" }], delegateAdmin: true }],
        policyPriority: 1,
      },
    });
    expect(owners.statusCode, owners.body).toBe(201);
    const grant = async (cache: string) =>
      t.app.inject({
        method: "POST",
        url: `/service/plugins/secure/services/grant/${s.service}`,
        headers: { authorization: await negotiate(cache) },
        payload: {
          grantor: s.alice,
          users: [s.bob],
          resource: { catalog: "sales", schema: s.schema, table: "orders" },
          accessTypes: ["select"],
        },
      });
    const refused = await grant(trinoCache);
    expect(refused.statusCode).toBe(403);
    expect(refused.body).toMatch(/policy\.grantrevoke\.auth\.users/);
    const granted = await grant(hiveCache);
    expect(granted.statusCode, granted.body).toBe(200);
    expect(granted.json()).toMatchObject({ outcome: "created" });
    const decision = await t.request({
      method: "POST",
      url: "/v1/decisions",
      payload: {
        service: s.service,
        user: s.bob,
        resource: { catalog: "sales", schema: s.schema, table: "orders" },
        accessType: "select",
      },
    });
    expect(decision.json().allowed).toBe(true);
    // the audit trail names the plugin's principal
    const audit = await t.request({
      method: "GET",
      url: `/v1/audit/events?actor=${encodeURIComponent("hive/worker1.example@GATEHOUSE.TEST")}`,
    });
    expect(audit.statusCode, audit.body).toBe(200);
    expect(audit.json().items[0]).toMatchObject({
      actor: { type: "kerberos", id: "hive/worker1.example@GATEHOUSE.TEST", name: "hive", authMethod: "kerberos" },
    });
  });

  it("lets a listed principal CREATE ROLE and GRANT ROLE at the plugin's v2 URLs; a policy on the role then decides", async () => {
    const admin = await buildDirectoryAdmin(t.db);
    const role = uniqueName("kerb-writers");
    const roles = "/service/public/v2/api/roles";

    // RangerAdminRESTClient's createRole and grantRole, as a Kerberised HiveServer2 sends them
    const created = await send(hiveCache, "POST", `${roles}/?serviceName=${s.service}`, {
      name: role,
      createdByUser: admin,
    });
    expect(created.statusCode, created.body).toBe(200);
    expect(created.json()).toMatchObject({ name: role, users: [] });
    const granted = await send(hiveCache, "PUT", `${roles}/grant/${s.service}`, {
      targetRoles: [role],
      users: [s.bob],
      grantor: admin,
    });
    expect(granted.statusCode, granted.body).toBe(200);
    const names = await send(hiveCache, "GET", `${roles}/names/?serviceName=${s.service}&execUser=${admin}`);
    expect(names.statusCode, names.body).toBe(200);
    expect(names.json()).toContain(role);

    const policy = await t.request({
      method: "POST",
      url: `/v1/services/${s.service}/policies`,
      payload: {
        name: uniqueName("by-role"),
        resources: { catalog: { values: ["sales"] }, schema: { values: [s.schema] }, table: { values: ["ledger"] } },
        policyItems: [{ roles: [role], accesses: [{ type: "insert" }] }],
      },
    });
    expect(policy.statusCode, policy.body).toBe(201);
    const decide = async (user: string) =>
      (
        await t.request({
          method: "POST",
          url: "/v1/decisions",
          payload: {
            service: s.service,
            user,
            resource: { catalog: "sales", schema: s.schema, table: "ledger" },
            accessType: "insert",
          },
        })
      ).json().allowed;
    expect(await decide(s.bob)).toBe(true);
    expect(await decide(s.alice)).toBe(false);

    const audit = await t.request({ method: "GET", url: "/v1/audit/events?action=role.granted&limit=10" });
    const event = (audit.json().items as { actor: unknown; after: { targetRoles: string[] } }[]).find((e) =>
      e.after.targetRoles.includes(role),
    );
    expect(event?.actor).toMatchObject({ type: "kerberos", id: "hive/worker1.example@GATEHOUSE.TEST", name: "hive" });
  });

  it("holds a Kerberos caller of the role calls to the named service's list, then to the execUser rule", async () => {
    const roles = "/service/public/v2/api/roles";
    const role = uniqueName("kerb-refused");
    const refused = [
      // trino is not in policy.grantrevoke.auth.users
      await send(trinoCache, "POST", `${roles}/?serviceName=${s.service}`, { name: role }),
      await send(trinoCache, "PUT", `${roles}/grant/${s.service}`, { targetRoles: ["viewer"], users: [s.bob] }),
      // hive is listed, but only by a service it names
      await send(hiveCache, "GET", `${roles}/names/`),
      await send(hiveCache, "GET", `${roles}/names/?serviceName=${uniqueName("nosuch")}`),
      // and the SQL user it names must be an administrator
      await send(hiveCache, "POST", `${roles}/?serviceName=${s.service}`, { name: role, createdByUser: s.bob }),
      // naming nobody, or itself, it acts for its own short name, which is no administrator here
      await send(hiveCache, "POST", `${roles}/?serviceName=${s.service}`, { name: role }),
      await send(hiveCache, "PUT", `${roles}/grant/${s.service}`, {
        targetRoles: ["viewer"],
        users: [s.bob],
        grantor: "hive",
      }),
      await send(hiveCache, "DELETE", `${roles}/name/viewer?serviceName=${s.service}`),
    ];
    expect(refused.map((r) => r.statusCode)).toEqual([403, 403, 403, 403, 403, 403, 403, 403]);
    expect(refused.slice(5).map((r) => r.json().msgDesc)).toEqual([
      expect.stringMatching(/user `hive` does not have permission/),
      expect.stringMatching(/user `hive` does not have permission/),
      expect.stringMatching(/user `hive` does not have permission/),
    ]);
    expect(refused[0]?.json().msgDesc).toMatch(
      /`trino` \(Kerberos trino\/worker2\.example@GATEHOUSE\.TEST\) is not in the service's policy\.grantrevoke\.auth\.users/,
    );
    expect(refused[1]?.json().msgDesc).toMatch(/policy\.grantrevoke\.auth\.users/);
    expect(refused.slice(2, 5).map((r) => r.json().messageList[0]?.rbKey)).toEqual([
      "query.serviceName",
      "query.serviceName",
      "body.createdByUser",
    ]);
    // the calls Ranger keeps to its administrators take no plugin principal
    const list = await send(hiveCache, "GET", roles);
    expect(list.statusCode).toBe(401);
  });

  it("admits SPNEGO on the plugin routes alone: every other route refuses a valid Kerberos token", async () => {
    const mounts = ["/service/roles/roles", "/service/public/v2/api/roles"];
    const spnego = new Set([
      "GET /service/plugins/secure/policies/download/:serviceName",
      "GET /service/roles/secure/download/:serviceName",
      "GET /service/tags/secure/download/:serviceName",
      "POST /service/plugins/secure/services/grant/:serviceName",
      "POST /service/plugins/secure/services/revoke/:serviceName",
      ...mounts.flatMap((m) => [
        `POST ${m}`,
        `POST ${m}/`,
        `DELETE ${m}/name/:name`,
        `GET ${m}/names`,
        `GET ${m}/names/`,
        `GET ${m}/name/:name`,
        `GET ${m}/user/:user`,
        `PUT ${m}/grant/:serviceName`,
        `PUT ${m}/revoke/:serviceName`,
      ]),
    ]);
    const routes = t.app.routeCatalogue.flatMap((r) =>
      (Array.isArray(r.method) ? r.method : [r.method]).map((method) => ({ method, route: r })),
    );
    const offering = routes
      .filter(({ method, route }) => method !== "HEAD" && String(route.config?.challenge ?? "").startsWith("Negotiate"))
      .map(({ method, route }) => `${method} ${route.url}`);
    expect(new Set(offering)).toEqual(spnego);

    const authorization = await negotiate(hiveCache);
    const reached: string[] = [];
    let walked = 0;
    for (const { method, route } of routes) {
      const key = `${method} ${route.url}`;
      if (route.config?.ability === "public" || spnego.has(key) || spnego.has(key.replace(/^HEAD/, "GET"))) continue;
      // `::` is a literal colon (`/v1/decisions:batch`); `:name` a parameter
      const url = route.url
        .replace(/::/g, "\0")
        .replace(/:[A-Za-z]+/g, "x")
        .replace(/\0/g, ":")
        .replace(/\*$/, "x");
      const res = await t.app.inject({ method: method as "GET", url, headers: { authorization }, payload: undefined });
      walked++;
      if (res.statusCode !== 401) reached.push(`${key}: ${res.statusCode}`);
    }
    expect(reached).toEqual([]);
    expect(walked).toBeGreaterThan(100);
  });

  it("keeps SPNEGO off the non-secure paths, which Ranger serves without authentication", async () => {
    const res = await get(`/service/plugins/policies/download/${s.service}`, await negotiate(hiveCache));
    expect(res.statusCode).toBe(401);
  });

  it("requires the realm with the keytab", () => {
    expect(() => loadConfig({ env: { GATEHOUSE_KERBEROS_KEYTAB: "/etc/http.keytab" } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { GATEHOUSE_KERBEROS_KEYTAB: "/etc/http.keytab" } })).toThrow(
      /GATEHOUSE_KERBEROS_REALM: must be set when GATEHOUSE_KERBEROS_KEYTAB is set/,
    );
  });
});
