import type { LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { seedService } from "../decisions/test-seed.ts";
import { RANGER_V2 } from "../ranger/admin/policies.routes.ts";
import { asAdministrator, type Caller, callAs, policyIn, userWithKey } from "./zone-test-seed.ts";

let t: TestApp;
let svc: string;
/** A zone the callers administer (`admin`) or audit (`auditor`), one they have no part in, one `admin` only audits. */
let mine: string;
let theirs: { name: string; id: number };
let audited: string;
let admin: Caller;
let auditor: Caller;
let unrelated: Caller;
/** A policy of `theirs`, one of the default zone, one of `audited`. */
let hidden: { id: number; name: string };
let defaultZone: { id: number; name: string };
let readOnly: { id: number; name: string };
/** An id and a name no policy has. */
const MISSING_ID = 2_000_000_001;
const missingName = uniqueName("no-such-policy");

/**
 * The answer with what legitimately differs between two lookups taken out: the request id, and
 * the policy's (or zone's) own id or name where the message names it.
 */
function normalised(res: LightMyRequestResponse, id: number | string) {
  const body = res.json() as Record<string, unknown>;
  delete body.requestId;
  const text = JSON.stringify(body).replaceAll(`policy ${id} `, "policy <id> ").replaceAll(`\`${id}\``, "`<id>`");
  return {
    status: res.statusCode,
    contentType: res.headers["content-type"],
    body: text.replaceAll(`zone ${id} `, "zone <id> "),
  };
}

/** Asks for the hidden object and for a missing one; the two answers must be the same, and 404. */
async function expectSameAsMissing(
  who: Caller,
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  url: (key: number | string) => string,
  hiddenKey: number | string,
  missingKey: number | string,
  payload?: unknown,
) {
  const forHidden = await callAs(t, who, method, url(hiddenKey), payload);
  const forMissing = await callAs(t, who, method, url(missingKey), payload);
  expect(forMissing.statusCode, `${method} ${url(missingKey)}: ${forMissing.body}`).toBe(404);
  expect(normalised(forHidden, hiddenKey), `${method} ${url(hiddenKey)}`).toEqual(normalised(forMissing, missingKey));
}

beforeAll(async () => {
  t = await testApp();
  const s = await seedService(t);
  svc = s.service;
  const a = await userWithKey(t);
  const b = await userWithKey(t);
  unrelated = (await userWithKey(t)).headers;
  admin = a.headers;
  auditor = b.headers;
  mine = uniqueName("mine");
  audited = uniqueName("audited");
  const theirsName = uniqueName("theirs");
  await asAdministrator(t, "POST", "/v1/zones", {
    name: mine,
    services: { [svc]: { resources: [{ catalog: ["sales"] }] } },
    adminUsers: [a.username],
    auditUsers: [b.username],
  });
  const zone = await asAdministrator(t, "POST", "/v1/zones", {
    name: theirsName,
    services: { [svc]: { resources: [{ catalog: ["hr"] }] } },
    adminUsers: ["someone-else"],
  });
  theirs = { name: theirsName, id: zone.id };
  await asAdministrator(t, "POST", "/v1/zones", {
    name: audited,
    services: { [svc]: { resources: [{ catalog: ["ops"] }] } },
    auditUsers: [a.username],
  });
  hidden = await asAdministrator(t, "POST", `/v1/services/${svc}/policies`, policyIn(theirsName, "hr"));
  readOnly = await asAdministrator(t, "POST", `/v1/services/${svc}/policies`, policyIn(audited, "ops"));
  defaultZone = s.policy;
});
afterAll(() => t.app.close());

describe(`a zone administrator or auditor cannot tell another zone's policies from missing ones (${TEST_BACKEND})`, () => {
  it("answers reads of a policy it may not read as for a missing policy: native and Ranger v2", async () => {
    for (const target of [hidden, defaultZone]) {
      for (const url of [
        (id: number | string) => `/v1/services/${svc}/policies/${id}`,
        (id: number | string) => `/v1/policies/${id}`,
        (id: number | string) => `/v1/policies/${id}/versions`,
        (id: number | string) => `/v1/policies/${id}/versions/1`,
        (id: number | string) => `/v1/policies/${id}/versions/1/diff`,
        (id: number | string) => `${RANGER_V2}/policy/${id}`,
      ]) {
        await expectSameAsMissing(auditor, "GET", url, target.id, MISSING_ID);
        await expectSameAsMissing(admin, "GET", url, target.id, MISSING_ID);
      }
    }
    const byName = (zone: string) => (name: number | string) =>
      `${RANGER_V2}/service/${svc}/policy/${name}${zone ? `?zoneName=${zone}` : ""}`;
    await expectSameAsMissing(auditor, "GET", byName(theirs.name), hidden.name, missingName);
    await expectSameAsMissing(auditor, "GET", byName(""), defaultZone.name, missingName);
  });

  it("answers writes to a policy it may not read as for a missing policy, and changes nothing", async () => {
    const body = policyIn(mine, "sales");
    for (const target of [hidden, defaultZone]) {
      const one = (id: number | string) => `/v1/services/${svc}/policies/${id}`;
      await expectSameAsMissing(admin, "PUT", one, target.id, MISSING_ID, body);
      await expectSameAsMissing(admin, "PATCH", one, target.id, MISSING_ID, { description: "x" });
      await expectSameAsMissing(admin, "PATCH", one, target.id, MISSING_ID, { zoneName: mine });
      await expectSameAsMissing(admin, "POST", (id) => `${one(id)}/disable`, target.id, MISSING_ID);
      await expectSameAsMissing(admin, "DELETE", one, target.id, MISSING_ID);
      await expectSameAsMissing(admin, "POST", (id) => `/v1/policies/${id}/revert`, target.id, MISSING_ID, {
        version: 1,
      });
      const v2 = (id: number | string) => `${RANGER_V2}/policy/${id}`;
      await expectSameAsMissing(admin, "PUT", v2, target.id, MISSING_ID, { ...body, service: svc });
      await expectSameAsMissing(admin, "DELETE", v2, target.id, MISSING_ID);
    }
    const named = (name: number | string) => `${RANGER_V2}/service/${svc}/policy/${name}?zoneName=${theirs.name}`;
    await expectSameAsMissing(admin, "PUT", named, hidden.name, missingName, { ...body, service: svc });
    await expectSameAsMissing(
      admin,
      "DELETE",
      (name) => `${RANGER_V2}/policy?servicename=${svc}&policyname=${name}&zoneName=${theirs.name}`,
      hidden.name,
      missingName,
    );

    for (const target of [hidden, defaultZone]) {
      const still = await asAdministrator(t, "GET", `/v1/policies/${target.id}`);
      expect(still).toMatchObject({ id: target.id, name: target.name, isEnabled: true });
    }
  });

  it("answers the same for a delete-if-exists create into another zone, whatever that zone holds", async () => {
    const taken = {
      ...policyIn(theirs.name, "hr"),
      resources: (await asAdministrator(t, "GET", `/v1/policies/${hidden.id}`)).resources,
    };
    const free = policyIn(theirs.name, "hr");
    const url = `${RANGER_V2}/policy?deleteIfExists=true`;
    const onTaken = await callAs(t, admin, "POST", url, { ...taken, name: "same", service: svc });
    const onFree = await callAs(t, admin, "POST", url, { ...free, name: "same", service: svc });
    expect(onTaken.statusCode, onTaken.body).toBe(403);
    expect(onTaken.body).toBe(onFree.body);
    expect((await asAdministrator(t, "GET", `/v1/policies/${hidden.id}`)).id).toBe(hidden.id);
  });

  it("keeps 403 for a policy the caller may read but not write", async () => {
    const read = await callAs(t, admin, "GET", `/v1/policies/${readOnly.id}`);
    expect(read.statusCode, read.body).toBe(200);
    const write = await callAs(t, admin, "PATCH", `/v1/services/${svc}/policies/${readOnly.id}`, {
      description: "x",
    });
    expect(write.statusCode, write.body).toBe(403);
    expect(write.json()).toMatchObject({ code: "FORBIDDEN", meta: { zone: audited, rule: "zoneAdmin" } });
    const remove = await callAs(t, admin, "DELETE", `${RANGER_V2}/policy/${readOnly.id}`);
    expect(remove.statusCode, remove.body).toBe(403);
  });

  it("keeps 403 for a caller with no right to read policies at all, the same for any id", async () => {
    const [forHidden, forMissing] = await Promise.all(
      [hidden.id, MISSING_ID].map((id) => callAs(t, unrelated, "GET", `/v1/services/${svc}/policies/${id}`)),
    );
    expect(forHidden?.statusCode, forHidden?.body).toBe(403);
    const { requestId: _a, ...one } = forHidden?.json() ?? {};
    const { requestId: _b, ...other } = forMissing?.json() ?? {};
    expect(one).toEqual(other);
  });

  it("answers zones a zone administrator or auditor may not read as missing ones", async () => {
    const missingZone = uniqueName("no-such-zone");
    for (const who of [admin, auditor]) {
      await expectSameAsMissing(who, "GET", (name) => `/v1/zones/${name}`, theirs.name, missingZone);
      await expectSameAsMissing(who, "GET", (name) => `${RANGER_V2}/zones/name/${name}`, theirs.name, missingZone);
      await expectSameAsMissing(who, "GET", (id) => `${RANGER_V2}/zones/${id}`, theirs.id, MISSING_ID);
    }
    await expectSameAsMissing(admin, "PATCH", (name) => `/v1/zones/${name}`, theirs.name, missingZone, {
      adminUsers: ["me"],
    });
    await expectSameAsMissing(admin, "PUT", (id) => `${RANGER_V2}/zones/${id}`, theirs.id, MISSING_ID, {
      name: theirs.name,
      services: { [svc]: { resources: [{ catalog: ["hr"] }] } },
      adminUsers: ["me"],
    });
    const zone = await asAdministrator(t, "GET", `/v1/zones/${theirs.name}`);
    expect(zone.adminUsers).toEqual(["someone-else"]);
  });
});
