import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import {
  BIG_DN,
  BIG_GROUP_SIZE,
  DATA_TEAM_DN,
  ENGINEERING_DN,
  SALES_EMEA_DN,
  startTestLdap,
  TEAM_GROUPS,
  type TestLdap,
} from "../../test/support/ldap.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";

let t: TestApp;
let ldap: TestLdap;
let sourceId: string;

beforeAll(async () => {
  [t, ldap] = await Promise.all([testApp(), startTestLdap()]);
  const res = await t.request({
    method: "POST",
    url: "/v1/identity-sources",
    payload: {
      name: uniqueName("ldap"),
      kind: "ldap",
      config: {
        url: ldap.url,
        bindDn: ldap.bindDn,
        baseDn: ldap.baseDn,
        groupBaseDn: `ou=groups,${ldap.baseDn}`,
        pageSize: 200,
      },
      bindCredential: ldap.bindPassword,
    },
  });
  expect(res.statusCode, res.body).toBe(201);
  sourceId = res.json().id;
}, 60_000);

afterAll(async () => {
  await ldap?.stop();
});

async function all<T>(url: string): Promise<{ items: T[]; total: number }> {
  const items: T[] = [];
  let cursor: string | null = null;
  let total = 0;
  do {
    const res = await t.request({
      method: "GET",
      url: `${url}${url.includes("?") ? "&" : "?"}limit=1000${cursor ? `&cursor=${cursor}` : ""}`,
    });
    expect(res.statusCode, res.body).toBe(200);
    items.push(...res.json().items);
    total = res.json().total;
    cursor = res.json().nextCursor;
  } while (cursor);
  return { items, total };
}

describe(`identity sources against a real slapd (${TEST_BACKEND})`, () => {
  it("stores the bind credential encrypted and never returns it", async () => {
    const res = await t.request({ method: "GET", url: `/v1/identity-sources/${sourceId}` });
    expect(res.json().credential).toEqual({ kind: "stored", env: null });
    expect(res.body).not.toContain(ldap.bindPassword);
    const row = await t.db.kysely
      .selectFrom("identity_sources")
      .where("id", "=", sourceId)
      .selectAll()
      .executeTakeFirstOrThrow();
    expect(row.credential_ciphertext).not.toContain(ldap.bindPassword);
  });

  it("tests the source step by step, counting past the server's size limit", async () => {
    const res = await t.request({ method: "POST", url: `/v1/identity-sources/${sourceId}/test` });
    expect(res.json()).toMatchObject({ ok: true, users: BIG_GROUP_SIZE + 1, groups: TEAM_GROUPS + 6 });
    const bad = await t.request({
      method: "POST",
      url: "/v1/identity-sources",
      payload: {
        name: uniqueName("bad"),
        kind: "ldap",
        config: { url: ldap.url, bindDn: ldap.bindDn, baseDn: ldap.baseDn },
        bindCredential: "wrong",
      },
    });
    const failed = await t.request({ method: "POST", url: `/v1/identity-sources/${bad.json().id}/test` });
    expect(failed.json().ok).toBe(false);
    expect(failed.json().steps[0].message).toMatch(/credentials/i);
  });

  it("searches groups with wildcards through paged results, exact totals and names with spaces and commas", async () => {
    const teams = await all<{ dn: string }>(`/v1/identity-sources/${sourceId}/groups?search=team-*`);
    expect(teams.total).toBe(TEAM_GROUPS);
    expect(new Set(teams.items.map((g) => g.dn)).size).toBe(TEAM_GROUPS);
    const sales = await t.request({ method: "GET", url: `/v1/identity-sources/${sourceId}/groups?search=Sales,*` });
    expect(sales.json()).toMatchObject({ total: 1, items: [{ dn: SALES_EMEA_DN, name: "Sales, EMEA" }] });
    const data = await t.request({ method: "GET", url: `/v1/identity-sources/${sourceId}/groups?search=data team` });
    expect(data.json().items[0].dn).toBe(DATA_TEAM_DN);
    const injection = await t.request({ method: "GET", url: `/v1/identity-sources/${sourceId}/groups?search=*)(cn=*` });
    expect(injection.json().total).toBe(0);
    const users = await t.request({ method: "GET", url: `/v1/identity-sources/${sourceId}/users?search=jsmith` });
    expect(users.json()).toMatchObject({ total: 1, items: [{ username: "jsmith", displayName: "Smith, John" }] });
  });

  it("reads every member of a 2,000-member group and expands nested groups without looping", async () => {
    const big = await all<{ dn: string }>(
      `/v1/identity-sources/${sourceId}/group-members?dn=${encodeURIComponent(BIG_DN)}`,
    );
    expect(big.total).toBe(BIG_GROUP_SIZE);
    expect(new Set(big.items.map((m) => m.dn)).size).toBe(BIG_GROUP_SIZE);
    const direct = await t.request({
      method: "GET",
      url: `/v1/identity-sources/${sourceId}/group-members?dn=${encodeURIComponent(ENGINEERING_DN)}`,
    });
    expect(
      direct
        .json()
        .items.map((m: { kind: string }) => m.kind)
        .sort(),
    ).toEqual(["group", "user"]);
    const nested = await t.request({
      method: "GET",
      url: `/v1/identity-sources/${sourceId}/group-members?nested=true&dn=${encodeURIComponent(ENGINEERING_DN)}`,
    });
    expect(
      nested
        .json()
        .items.map((m: { dn: string }) => m.dn.split(",")[0])
        .sort(),
    ).toEqual(["uid=user0001", "uid=user0002", "uid=user0003"]);
    const loop = await t.request({
      method: "GET",
      url: `/v1/identity-sources/${sourceId}/group-members?nested=true&dn=${encodeURIComponent(`cn=loop-a,ou=groups,${ldap.baseDn}`)}`,
    });
    expect(loop.json().total).toBe(2);
    const missing = await t.request({
      method: "GET",
      url: `/v1/identity-sources/${sourceId}/group-members?dn=cn=nope,${ldap.baseDn}`,
    });
    expect(missing.statusCode).toBe(422);
    expect(missing.json()).toMatchObject({ code: "DIRECTORY_GROUP_NOT_FOUND", details: [{ field: "query.dn" }] });
  });

  it("creates a group bound to an existing DN and refuses an unknown DN or a short name, writing nothing", async () => {
    const ok = await t.request({
      method: "POST",
      url: "/v1/groups",
      payload: { name: uniqueName("sales-emea"), identitySourceId: sourceId, externalId: SALES_EMEA_DN },
    });
    expect(ok.statusCode, ok.body).toBe(201);
    expect(ok.json()).toMatchObject({ source: "ldap", externalId: SALES_EMEA_DN, identitySourceId: sourceId });
    for (const externalId of [
      `cn=ghost,ou=groups,${ldap.baseDn}`,
      "Data Team",
      `uid=user0001,ou=people,${ldap.baseDn}`,
    ]) {
      const name = uniqueName("orphan");
      const res = await t.request({
        method: "POST",
        url: "/v1/groups",
        payload: { name, identitySourceId: sourceId, externalId },
      });
      expect(res.statusCode, externalId).toBe(422);
      expect(res.json()).toMatchObject({
        code: "DIRECTORY_GROUP_NOT_FOUND",
        meta: { dn: externalId },
        details: [{ field: "body.externalId", rule: "directoryGroupExists" }],
      });
      expect(res.json().message).toContain(externalId);
      expect((await t.request({ method: "GET", url: `/v1/groups?prefix=${name}` })).json().total).toBe(0);
    }
    const unchecked = await t.request({
      method: "POST",
      url: "/v1/groups",
      payload: {
        name: uniqueName(),
        identitySourceId: sourceId,
        externalId: `cn=later,ou=groups,${ldap.baseDn}`,
        validate: false,
      },
    });
    expect(unchecked.statusCode).toBe(201);
  });

  it("reads the credential from the environment and reports an unreachable directory as 502", async () => {
    process.env.GH_TEST_LDAP_PASSWORD = ldap.bindPassword;
    const env = await t.request({
      method: "POST",
      url: "/v1/identity-sources",
      payload: {
        name: uniqueName("env"),
        kind: "ldap",
        config: { url: ldap.url, bindDn: ldap.bindDn, baseDn: ldap.baseDn },
        bindCredentialEnv: "GH_TEST_LDAP_PASSWORD",
      },
    });
    expect(env.json().credential).toEqual({ kind: "env", env: "GH_TEST_LDAP_PASSWORD" });
    expect((await t.request({ method: "POST", url: `/v1/identity-sources/${env.json().id}/test` })).json().ok).toBe(
      true,
    );
    const down = await t.request({
      method: "POST",
      url: "/v1/identity-sources",
      payload: {
        name: uniqueName("down"),
        kind: "ldap",
        config: { url: "ldap://127.0.0.1:1", baseDn: ldap.baseDn, timeoutMs: 500 },
      },
    });
    const res = await t.request({
      method: "POST",
      url: "/v1/groups",
      payload: { name: uniqueName(), identitySourceId: down.json().id, externalId: DATA_TEAM_DN },
    });
    expect(res.statusCode).toBe(502);
    expect(res.json().code).toBe("DIRECTORY_UNAVAILABLE");
  });
});
