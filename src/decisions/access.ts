import type { AclPermissions, RangerPolicy, RangerPolicyItem, RangerPolicyResources } from "../engine/index.ts";
import { ValidationFailed } from "../errors.ts";
import type { LiveEngine } from "./live-engines.ts";
import type { Principal } from "./principals.ts";

/** Parses `catalog=sales,schema=eu,table=orders` (the `resource` query parameter). */
export function parseResourceParam(text: string, field = "query.resource"): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) {
      const message = `${field}: \`${part}\` is not \`name=value\`; write e.g. \`catalog=sales,schema=eu\``;
      throw ValidationFailed(message, { details: [{ field, rule: "format", message }] });
    }
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

/** One principal's access on a resource, with the deciding policy. */
export interface AccessEntry {
  name: string;
  accesses: { accessType: string; result: "allowed" | "denied" | "conditional"; policyId: number | null }[];
}

function entries(perms: AclPermissions): AccessEntry[] {
  const out: AccessEntry[] = [];
  for (const [name, byAccess] of Object.entries(perms)) {
    const accesses: AccessEntry["accesses"] = [];
    for (const [accessType, r] of Object.entries(byAccess)) {
      if (r.result === 0) continue;
      accesses.push({
        accessType,
        result: r.result === 1 ? "allowed" : r.result === -1 ? "denied" : "conditional",
        policyId: r.policy?.id ?? null,
      });
    }
    if (accesses.length > 0)
      out.push({ name, accesses: accesses.sort((a, b) => (a.accessType < b.accessType ? -1 : 1)) });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** Who can access a resource (Ranger's resource ACLs), users, groups and roles. */
export function whoCanAccess(live: LiveEngine, resource: Record<string, string>) {
  const acls = live.engine.getResourceACLs({ resource: { elements: resource } });
  return {
    service: live.serviceName,
    resource,
    policyVersion: live.version,
    users: entries(acls.userACLs),
    groups: entries(acls.groupACLs),
    roles: entries(acls.roleACLs),
    dataMasks: acls.dataMasks,
    rowFilters: acls.rowFilters,
  };
}

/** One grant (or denial) a user holds through a policy item. */
export interface UserGrant {
  policyId: number;
  policyName: string;
  policyType: number;
  effect: "allow" | "deny";
  resources: RangerPolicyResources;
  additionalResources?: RangerPolicyResources[];
  accessTypes: string[];
  via: { type: "user" | "group" | "role" | "public"; name: string; throughGroup?: string };
  conditional: boolean;
}

const LISTS: [keyof RangerPolicy, "allow" | "deny"][] = [
  ["policyItems", "allow"],
  ["denyPolicyItems", "deny"],
  ["dataMaskPolicyItems", "allow"],
  ["rowFilterPolicyItems", "allow"],
];

/**
 * What a user can access in a service: every enabled policy item naming the user, one of its
 * effective groups (or `public`), or one of its roles, with the resources and access types it
 * grants or denies and the principal it reaches the user through. Deny items are listed too, so
 * a grant that a deny overrides is visible as such.
 */
export function whatCanUserAccess(live: LiveEngine, user: Principal): UserGrant[] {
  const groups = new Set(user.groups);
  const roles = new Set(user.roles);
  const out: UserGrant[] = [];
  const policies = [...live.policies.values()].sort((a, b) => (a.id ?? 0) - (b.id ?? 0));
  for (const p of policies) {
    if (p.isEnabled === false) continue;
    for (const [list, effect] of LISTS) {
      for (const item of (p[list] as RangerPolicyItem[] | undefined) ?? []) {
        const via = viaOf(item, user, groups, roles);
        if (!via) continue;
        out.push({
          policyId: p.id as number,
          policyName: p.name ?? "",
          policyType: p.policyType ?? 0,
          effect,
          resources: p.resources ?? {},
          ...(p.additionalResources?.length ? { additionalResources: p.additionalResources } : {}),
          accessTypes: (item.accesses ?? []).filter((a) => a.isAllowed !== false).map((a) => String(a.type)),
          via,
          conditional: (item.conditions?.length ?? 0) > 0 || (p.conditions?.length ?? 0) > 0,
        });
      }
    }
  }
  return out;
}

function viaOf(
  item: RangerPolicyItem,
  user: Principal,
  groups: Set<string>,
  roles: Set<string>,
): UserGrant["via"] | null {
  if (item.users?.some((u) => u === user.username || u === "{USER}")) return { type: "user", name: user.username };
  for (const g of item.groups ?? []) {
    if (g === "public") return { type: "public", name: "public" };
    if (groups.has(g)) {
      const through = user.viaGroups.get(g);
      return through && through !== g ? { type: "group", name: g, throughGroup: through } : { type: "group", name: g };
    }
  }
  for (const r of item.roles ?? []) if (roles.has(r)) return { type: "role", name: r };
  return null;
}
