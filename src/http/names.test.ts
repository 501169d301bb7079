import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import type { AuditContext } from "../audit/audit.service.ts";
import { createOrg, findOrgByName } from "../directory/orgs.service.ts";
import { createService } from "../service-defs/service-defs.service.ts";
import { findService } from "../service-defs/service-defs.store.ts";
import { createZone } from "../zones/zones.service.ts";

// Look-alike names (docs/input-rules.md): the NFC and NFD spellings of one name are one entity,
// and invisible or bidi-control characters are refused, for every named kind (groups are tested
// in src/http/input-guard.test.ts).

let t: TestApp;
beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
});

/** `base` + "é" composed (NFC) and decomposed (NFD). */
function spellings(prefix: string): { nfc: string; nfd: string } {
  const base = uniqueName(prefix);
  return { nfc: `${base}\u00e9`, nfd: `${base}e\u0301` };
}

const INVISIBLES = [
  ["a zero-width space", "\u200b"],
  ["a right-to-left override", "\u202e"],
] as const;

const V2 = "/service/public/v2/api";

/** Who the tests that call a service directly act as. */
const ctx: AuditContext = {
  actor: { type: "psk", id: "psk", name: "psk", authMethod: "general_psk", permissions: new Set<string>() },
  requestId: null,
  clientIp: null,
};

/** A native route that creates a named entity from `{ [key]: name, ...extra }`. */
const NATIVE = [
  { kind: "user", url: "/v1/users", key: "username", extra: {} },
  { kind: "role", url: "/v1/roles", key: "name", extra: {} },
  { kind: "service account", url: "/v1/service-accounts", key: "name", extra: { roles: [] } },
] as const;

describe(`look-alike names (${TEST_BACKEND})`, () => {
  for (const { kind, url, key, extra } of NATIVE) {
    it(`treats the NFC and NFD spellings of a ${kind} name as one ${kind}`, async () => {
      const { nfc, nfd } = spellings(kind.slice(0, 3));
      const first = await t.request({ method: "POST", url, payload: { ...extra, [key]: nfd } });
      expect(first.statusCode, first.body).toBe(201);
      expect(first.json()[key]).toBe(nfc);
      const second = await t.request({ method: "POST", url, payload: { ...extra, [key]: nfc } });
      expect(second.statusCode, second.body).toBe(409);
      expect(second.json().details[0]).toMatchObject({ field: `body.${key}`, rule: "unique" });
    });

    for (const [what, ch] of INVISIBLES) {
      it(`refuses ${what} in a ${kind} name`, async () => {
        const res = await t.request({ method: "POST", url, payload: { ...extra, [key]: `a${ch}${uniqueName("z")}` } });
        expect(res.statusCode, res.body).toBe(400);
        expect(res.json().details[0]).toMatchObject({ field: `body.${key}`, rule: "noInvisibleCharacters" });
      });
    }
  }

  it("finds a user by either spelling of the username, and renames to NFC", async () => {
    const { nfc, nfd } = spellings("usr");
    const created = await t.request({ method: "POST", url: "/v1/users", payload: { username: nfc } });
    expect(created.statusCode, created.body).toBe(201);
    const found = await t.request({ method: "GET", url: `/v1/users?username=${encodeURIComponent(nfd)}` });
    expect(found.json().items.map((u: { id: string }) => u.id)).toEqual([created.json().id]);
    const other = spellings("usr");
    const renamed = await t.request({
      method: "PATCH",
      url: `/v1/users/${created.json().id}`,
      payload: { username: other.nfd },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json().username).toBe(other.nfc);
    const hidden = await t.request({
      method: "PATCH",
      url: `/v1/users/${created.json().id}`,
      payload: { username: `x\u2066${uniqueName("y")}` },
    });
    expect(hidden.statusCode).toBe(400);
    expect(hidden.json().details[0]).toMatchObject({ field: "body.username", rule: "noInvisibleCharacters" });
  });

  it("treats the NFC and NFD spellings of a policy name as one policy, and refuses invisible ones", async () => {
    const service = uniqueName("svc");
    const svc = await t.request({ method: "POST", url: "/v1/services", payload: { name: service, type: "trino" } });
    expect(svc.statusCode, svc.body).toBe(201);
    const policy = (name: string) => ({
      name,
      resources: { catalog: { values: ["hive"] }, schema: { values: [uniqueName("s")] }, table: { values: ["*"] } },
      policyItems: [{ users: ["alice"], groups: [member.nfd], roles: [member.nfd], accesses: [{ type: "select" }] }],
    });
    const url = `/v1/services/${service}/policies`;
    const { nfc, nfd } = spellings("pol");
    const member = spellings("grp");
    const first = await t.request({ method: "POST", url, payload: policy(nfd) });
    expect(first.statusCode, first.body).toBe(201);
    expect(first.json().name).toBe(nfc);
    // principal names are stored as the directory stores names, so the engine's exact match holds
    expect(first.json().policyItems[0]).toMatchObject({ groups: [member.nfc], roles: [member.nfc] });
    const second = await t.request({ method: "POST", url, payload: policy(nfc) });
    expect(second.statusCode, second.body).toBe(409);
    const found = await t.request({ method: "GET", url: `${url}?policyName=${encodeURIComponent(nfd)}` });
    expect(found.statusCode, found.body).toBe(200);
    for (const [, ch] of INVISIBLES) {
      const res = await t.request({ method: "POST", url, payload: policy(`p${ch}${uniqueName("q")}`) });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().details[0]).toMatchObject({ field: "body.name", rule: "noInvisibleCharacters" });
    }
  });

  it("treats the NFC and NFD spellings of an organisation name as one organisation", async () => {
    const { nfc, nfd } = spellings("org");
    const org = await t.db.kysely.transaction().execute((tx) => createOrg(tx, ctx, { name: nfd }));
    expect(org.name).toBe(nfc);
    expect((await findOrgByName(t.db.kysely, nfd))?.id).toBe(org.id);
    await expect(t.db.kysely.transaction().execute((tx) => createOrg(tx, ctx, { name: nfc }))).rejects.toMatchObject({
      code: "ORG_NAME_TAKEN",
    });
    for (const [, ch] of INVISIBLES) {
      await expect(
        t.db.kysely.transaction().execute((tx) => createOrg(tx, ctx, { name: `o${ch}${uniqueName("q")}` })),
      ).rejects.toMatchObject({
        code: "VALIDATION_FAILED",
        details: [{ field: "body.name", rule: "noInvisibleCharacters" }],
      });
    }
  });
});

/** Ranger's error body: status 1 and the field and rule in the first message. */
function expectVx(
  res: { statusCode: number; body: string; json(): unknown },
  status: number,
  field: string,
  rule: string,
) {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json() as { statusCode: number; messageList: { name: string; rbKey: string }[] };
  expect(body.statusCode).toBe(1);
  expect(body.messageList[0]).toMatchObject({ rbKey: field, name: rule });
}

describe(`look-alike names through Ranger Admin's API (${TEST_BACKEND})`, () => {
  const kinds = [{ kind: "role", url: `${V2}/roles`, body: (name: string) => ({ name }) }] as const;
  for (const { kind, url, body } of kinds) {
    it(`treats the NFC and NFD spellings of a ${kind} name as one, and refuses a zero-width space`, async () => {
      const { nfc, nfd } = spellings(kind.slice(0, 3));
      const first = await t.request({ method: "POST", url, payload: body(nfd) });
      expect(first.statusCode, first.body).toBe(200);
      expect((first.json() as { name: string }).name).toBe(nfc);
      const second = await t.request({ method: "POST", url, payload: body(nfc) });
      expect(second.statusCode, second.body).toBe(409);
      const hidden = await t.request({ method: "POST", url, payload: body(`a\u200b${uniqueName("z")}`) });
      expectVx(hidden, 400, "body.name", "noInvisibleCharacters");
    });
  }

  it("refuses both look-alikes in service and zone names, which are ASCII by pattern", async () => {
    const { nfd } = spellings("x");
    for (const name of [nfd, `a\u200b${uniqueName("z")}`]) {
      expectVx(
        await t.request({ method: "POST", url: `${V2}/service`, payload: { name, type: "hive" } }),
        400,
        "body.name",
        "pattern",
      );
      expectVx(
        await t.request({ method: "POST", url: `${V2}/zones`, payload: { name, tagServices: ["tags"] } }),
        400,
        "body.name",
        "pattern",
      );
    }
  });
});

describe(`look-alike service and zone names in their services (${TEST_BACKEND})`, () => {
  // Their routes' patterns admit ASCII only; the services normalise and check too, for callers
  // that do not pass through a route (imports, seeds, future compat routes).
  it("treats the NFC and NFD spellings of a service name as one service", async () => {
    const { nfc, nfd } = spellings("svc");
    const svc = await t.db.kysely.transaction().execute((tx) => createService(tx, ctx, { name: nfd, type: "trino" }));
    expect(svc.name).toBe(nfc);
    expect((await findService(t.db.kysely, nfd))?.id).toBe(svc.id);
    await expect(
      t.db.kysely.transaction().execute((tx) => createService(tx, ctx, { name: nfc, type: "trino" })),
    ).rejects.toMatchObject({ code: "SERVICE_NAME_TAKEN" });
    await expect(
      t.db.kysely.transaction().execute((tx) => createService(tx, ctx, { name: `s\u202e${nfc}`, type: "trino" })),
    ).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      details: [{ field: "body.name", rule: "noInvisibleCharacters" }],
    });
  });

  it("treats the NFC and NFD spellings of a zone name as one zone", async () => {
    const { nfc, nfd } = spellings("zon");
    const zone = await t.db.kysely
      .transaction()
      .execute((tx) => createZone(tx, ctx, { name: nfd, tagServices: ["tags"] }));
    expect(zone.name).toBe(nfc);
    await expect(
      t.db.kysely.transaction().execute((tx) => createZone(tx, ctx, { name: nfc, tagServices: ["tags"] })),
    ).rejects.toMatchObject({ code: "ZONE_NAME_TAKEN" });
    await expect(
      t.db.kysely.transaction().execute((tx) => createZone(tx, ctx, { name: `z\u200b${nfc}`, tagServices: ["tags"] })),
    ).rejects.toMatchObject({
      code: "VALIDATION_FAILED",
      details: [{ field: "body.name", rule: "noInvisibleCharacters" }],
    });
  });
});
