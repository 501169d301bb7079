import { createRequire } from "node:module";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildDirectoryAdmin, uniqueName } from "../../../test/support/factories.ts";
import { startTestKdc, type TestKdc } from "../../../test/support/kdc.ts";
import { type TestApp, testApp } from "../../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../../test/support/test-db.ts";
import { seedService } from "../../decisions/test-seed.ts";

type KerberosAddon = typeof import("kerberos");
const kerberos = createRequire(import.meta.url)("kerberos") as KerberosAddon;

// A real MIT KDC (test/support/kdc.ts) and three plugin principals with names unique to the run (a
// PostgreSQL test database keeps every run's services): `hive…` in the service's download and
// grant/revoke lists, `impala…` in its download list only, `trino…` in no service's list.
let kdc: TestKdc;
let t: TestApp;
const principals = { hive: uniqueName("hive"), impala: uniqueName("impala"), trino: uniqueName("trino") };
const caches: Record<keyof typeof principals, string> = { hive: "", impala: "", trino: "" };
let s: Awaited<ReturnType<typeof seedService>>;

const MOUNTS = ["/service/roles/roles", "/service/public/v2/api/roles"];

/** A request with a fresh SPNEGO token for `HTTP@localhost` from `who`'s ticket, as the plugin's JVM sends it. */
async function send(who: keyof typeof principals, method: "GET" | "PUT", url: string, payload?: object) {
  process.env.KRB5CCNAME = caches[who];
  const client = await kerberos.initializeClient("HTTP@localhost", { mechOID: kerberos.GSS_MECH_OID_SPNEGO });
  const authorization = `Negotiate ${await client.step("")}`;
  return t.app.inject({ method, url, headers: { authorization }, ...(payload ? { payload } : {}) });
}

beforeAll(async () => {
  kdc = await startTestKdc();
  process.env.KRB5_CONFIG = kdc.krb5Conf;
  const http = kdc.keytab("HTTP/localhost");
  for (const who of Object.keys(principals) as (keyof typeof principals)[]) {
    const principal = `${principals[who]}/worker.example`;
    caches[who] = kdc.kinit(principal, kdc.keytab(principal));
  }
  t = await testApp({
    GATEHOUSE_KERBEROS_KEYTAB: http,
    GATEHOUSE_KERBEROS_REALM: kdc.realm,
    GATEHOUSE_KERBEROS_SERVICE: "HTTP@localhost",
  });
  s = await seedService(t);
  const configs = {
    "policy.download.auth.users": `${principals.hive}, ${principals.impala}`,
    "policy.grantrevoke.auth.users": principals.hive,
  };
  const patched = await t.request({ method: "PATCH", url: `/v1/services/${s.service}`, payload: { configs } });
  expect(patched.statusCode, patched.body).toBe(200);
});
afterAll(async () => {
  await t?.app.close();
  await kdc?.stop();
});

/** A role of the default organisation holding `user`, made with the general PSK. */
async function roleHeldBy(user: string): Promise<string> {
  const name = uniqueName("current");
  const res = await t.request({
    method: "POST",
    url: MOUNTS[0] as string,
    payload: { name, users: [{ name: user, isAdmin: false }] },
  });
  expect(res.statusCode, res.body).toBe(200);
  return name;
}

describe(`Ranger role calls from a Kerberised plugin (${TEST_BACKEND})`, () => {
  it("answers SHOW CURRENT ROLES over SPNEGO without a serviceName, as Ranger's getUserRoles", async () => {
    const role = await roleHeldBy(s.alice);
    for (const mount of MOUNTS) {
      // RangerAdminRESTClient.getUserRoles: GET {mount}/user/{execUser}, no query at all
      for (const who of ["hive", "impala"] as const) {
        const res = await send(who, "GET", `${mount}/user/${s.alice}`);
        expect(res.statusCode, `${who} ${mount}: ${res.body}`).toBe(200);
        expect(res.json()).toContain(role);
      }
      const unknown = await send("hive", "GET", `${mount}/user/${uniqueName("ghost")}`);
      expect(unknown.statusCode).toBe(404);

      // a principal no service lists is no plugin: refused, naming the lists
      const trino = await send("trino", "GET", `${mount}/user/${s.alice}`);
      expect(trino.statusCode).toBe(403);
      expect(trino.json()).toMatchObject({ statusCode: 1, code: "FORBIDDEN" });
      expect(trino.json().messageList[0]).toMatchObject({ rbKey: "query.serviceName", name: "listedPlugin" });
      expect(trino.json().msgDesc).toContain(
        `\`${principals.trino}\` (Kerberos ${principals.trino}/worker.example@${kdc.realm}) is in no service's policy.download.auth.users or policy.grantrevoke.auth.users`,
      );
      // a service it names must list it
      const other = await send("hive", "GET", `${mount}/user/${s.alice}?serviceName=${uniqueName("nosuch")}`);
      expect(other.statusCode).toBe(403);
      expect(other.json().messageList[0]).toMatchObject({ rbKey: "query.serviceName", name: "knownService" });
      const named = await send("impala", "GET", `${mount}/user/${s.alice}?serviceName=${s.service}`);
      expect(named.statusCode, named.body).toBe(200);
    }
  });

  it("lets a role administrator GRANT ROLE through the Kerberised plugin; a plain member is refused", async () => {
    const admin = await buildDirectoryAdmin(t.db);
    const role = await roleHeldBy(s.bob);
    const grantUrl = `${MOUNTS[1]}/grant/${s.service}`;
    const withAdmin = await send("hive", "PUT", grantUrl, {
      targetRoles: [role],
      users: [s.alice],
      grantOption: true,
      grantor: admin,
    });
    expect(withAdmin.statusCode, withAdmin.body).toBe(200);

    // bob is a plain member: GRANT role TO USER carol, run by bob, is refused
    const carol = uniqueName("carol");
    expect((await t.request({ method: "POST", url: "/v1/users", payload: { username: carol } })).statusCode).toBe(201);
    const byBob = await send("hive", "PUT", grantUrl, { targetRoles: [role], users: [carol], grantor: s.bob });
    expect(byBob.statusCode).toBe(403);
    expect(byBob.json().messageList[0]).toMatchObject({ rbKey: "body.grantor", name: "effectiveUserIsAdmin" });

    // alice, granted WITH ADMIN OPTION, grants it; impala, no grant/revoke plugin, may not carry her grant
    const byAlice = await send("hive", "PUT", grantUrl, { targetRoles: [role], users: [carol], grantor: s.alice });
    expect(byAlice.statusCode, byAlice.body).toBe(200);
    const viaImpala = await send("impala", "PUT", grantUrl, { targetRoles: [role], users: [carol], grantor: s.alice });
    expect(viaImpala.statusCode).toBe(403);
    expect(viaImpala.json().msgDesc).toContain("policy.grantrevoke.auth.users");
    const current = await send("hive", "GET", `${MOUNTS[0]}/user/${carol}`);
    expect(current.json()).toEqual([role]);
  });
});
