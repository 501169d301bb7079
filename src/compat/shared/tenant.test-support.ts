import { expect } from "vitest";
import { createOrgVia, createUserVia } from "../../../test/support/directory.ts";
import { bindBuiltinRole, uniqueName } from "../../../test/support/factories.ts";
import type { TestLdap } from "../../../test/support/ldap.ts";
import type { TestApp } from "../../../test/support/test-app.ts";

/** A fresh organisation for one compatibility test: an LDAP source on the test slapd and a user key per role. */
export interface Tenant {
  orgId: string;
  orgName: string;
  sourceId: string;
  /** An API key of a `directory-admin` user of the organisation, and that user's id. */
  adminKey: string;
  adminId: string;
  /** An API key of a `viewer` user of the organisation. */
  viewerKey: string;
}

async function keyFor(t: TestApp, orgId: string, role: string) {
  const user = await createUserVia(t, { orgId });
  await bindBuiltinRole(t.db, user.id, orgId, role);
  const res = await t.request({ method: "POST", url: "/v1/api-keys", payload: { userId: user.id, name: role } });
  expect(res.statusCode, res.body).toBe(201);
  return { id: user.id, key: res.json().key as string };
}

/** Creates a tenant (organisation, LDAP identity source, admin and viewer keys) over the native API. */
export async function buildTenant(t: TestApp, ldap: TestLdap): Promise<Tenant> {
  const org = await createOrgVia(t);
  const source = await t.request({
    method: "POST",
    url: "/v1/identity-sources",
    payload: {
      orgId: org.id,
      name: uniqueName("ldap"),
      kind: "ldap",
      config: { url: ldap.url, bindDn: ldap.bindDn, baseDn: ldap.baseDn, groupBaseDn: `ou=groups,${ldap.baseDn}` },
      bindCredential: ldap.bindPassword,
    },
  });
  expect(source.statusCode, source.body).toBe(201);
  const admin = await keyFor(t, org.id, "directory-admin");
  const viewer = await keyFor(t, org.id, "viewer");
  return {
    orgId: org.id,
    orgName: org.name,
    sourceId: source.json().id,
    adminKey: admin.key,
    adminId: admin.id,
    viewerKey: viewer.key,
  };
}

/** Creates a custom role in the organisation and returns its id and Puppet number. */
export async function buildRole(t: TestApp, orgId: string, name = uniqueName("role")) {
  const res = await t.request({ method: "POST", url: "/v1/roles", payload: { orgId, name } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; num: number; name: string };
}

/** The native view of a group: the group, its direct members' usernames and its role bindings. */
export async function nativeView(t: TestApp, groupId: string) {
  const group = await t.request({ method: "GET", url: `/v1/groups/${groupId}` });
  const members = await t.request({ method: "GET", url: `/v1/groups/${groupId}/members?effective=false&limit=1000` });
  const bindings = await t.request({
    method: "GET",
    url: `/v1/role-bindings?orgId=${group.json().orgId}&principalType=group&principalId=${groupId}&limit=1000`,
  });
  return {
    status: group.statusCode,
    group: group.json(),
    members: members.json().items as { user: { id: string; username: string; source: string }; role: string }[],
    bindings: bindings.json().items as {
      roleId: string;
      scope: { type: string; value: string };
      allowAllObjects: boolean;
    }[],
  };
}
