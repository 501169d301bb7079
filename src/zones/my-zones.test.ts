import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueName } from "../../test/support/factories.ts";
import { type TestApp, testApp } from "../../test/support/test-app.ts";
import { TEST_BACKEND } from "../../test/support/test-db.ts";
import { seedService } from "../decisions/test-seed.ts";
import { asAdministrator, callAs, userWithKey } from "./zone-test-seed.ts";

let t: TestApp;

beforeAll(async () => {
  t = await testApp();
});
afterAll(async () => {
  await t.app.close();
});

describe(`GET /v1/whoami/zones (${TEST_BACKEND})`, () => {
  it("names the zones a user administers (directly, through a group or a role) and audits, and nothing for others", async () => {
    const s = await seedService(t);
    const direct = await userWithKey(t);
    const viaGroup = await userWithKey(t);
    const viaRole = await userWithKey(t);
    const auditor = await userWithKey(t);
    const stranger = await userWithKey(t);
    const group = await asAdministrator(t, "POST", "/v1/groups", { name: uniqueName("zone-admins") });
    await asAdministrator(t, "PUT", `/v1/groups/${group.id}/members/${viaGroup.id}`);
    const role = await asAdministrator(t, "POST", "/v1/roles", { name: uniqueName("zone-role") });
    await asAdministrator(t, "POST", "/v1/role-bindings", {
      roleId: role.id,
      principal: { type: "user", id: viaRole.id },
    });
    const [a, b] = [uniqueName("zb"), uniqueName("za")];
    await asAdministrator(t, "POST", "/v1/zones", {
      name: a,
      services: { [s.service]: { resources: [{ catalog: [uniqueName("c")] }] } },
      adminUsers: [direct.username],
      adminUserGroups: [group.name],
      auditUsers: [auditor.username],
    });
    await asAdministrator(t, "POST", "/v1/zones", {
      name: b,
      services: { [s.service]: { resources: [{ catalog: [uniqueName("c")] }] } },
      adminUsers: [direct.username],
      adminRoles: [role.name],
    });

    const mine = async (headers: Record<string, string>) => {
      const res = await callAs(t, headers, "GET", "/v1/whoami/zones");
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { administers: string[]; audits: string[] };
    };
    expect(await mine(direct.headers)).toEqual({ administers: [b, a].sort(), audits: [] });
    expect((await mine(viaGroup.headers)).administers).toEqual([a]);
    expect((await mine(viaRole.headers)).administers).toEqual([b]);
    expect(await mine(auditor.headers)).toEqual({ administers: [], audits: [a] });
    expect(await mine(stranger.headers)).toEqual({ administers: [], audits: [] });
    // The general PSK is no directory user: no zone lists it, whatever it may do.
    const psk = await t.request({ method: "GET", url: "/v1/whoami/zones" });
    expect(psk.json()).toEqual({ administers: [], audits: [] });
    expect((await t.app.inject({ method: "GET", url: "/v1/whoami/zones" })).statusCode).toBe(401);
  });
});
