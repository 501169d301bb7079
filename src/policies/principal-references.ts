import { sql } from "kysely";
import type { AuditContext } from "../audit/audit.service.ts";
import type { RangerPolicy, RangerPolicyItem } from "../engine/types.ts";
import { type AppError, PrincipalInPolicies } from "../errors.ts";
import { findServiceWithDef } from "../service-defs/service-defs.store.ts";
import type { Queryable, Tx } from "../storage/db.ts";
import { applyChanges, present } from "./policies.service.ts";
import { getPolicyRecord } from "./policies.store.ts";
import { ITEM_LISTS } from "./policy-model.ts";

/** The kinds of principal a policy item names (its `users`, `groups` and `roles`). */
export type PrincipalKind = "user" | "group" | "role";

/** A policy naming a principal, as a refusal lists it. */
export interface PolicyReference {
  id: number;
  name: string;
  service: string;
  zoneName: string;
}

const COLUMN = { user: "users", group: "groups", role: "roles" } as const;

/** How many referencing policies a refusal lists by name (the count is always exact). */
const LISTED = 20;

/**
 * The policies whose items name `name` as a `kind` (exact spelling, as the engine matches it),
 * read from the denormalised, GIN-indexed principal columns.
 */
export async function policiesNaming(db: Queryable, kind: PrincipalKind, name: string): Promise<PolicyReference[]> {
  const rows = await db
    .selectFrom("policies as p")
    .innerJoin("services as s", "s.id", "p.service_id")
    .select(["p.id", "p.name", "s.name as service", "p.zone_name"])
    .where(sql<boolean>`${sql.ref(`p.${COLUMN[kind]}`)} @> array[${name}]::text[]`)
    .orderBy("p.id")
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, service: r.service, zoneName: r.zone_name }));
}

/**
 * PRINCIPAL_IN_POLICIES (409) for deleting a principal that `policies` name: the message lists
 * them (`service/name (id)`, the first 20 and a count of the rest), `meta.policies` carries all.
 */
export function principalInPolicies(
  kind: PrincipalKind,
  name: string,
  policies: PolicyReference[],
  field = "query.force",
): AppError {
  const listed = policies.slice(0, LISTED).map((p) => `${p.service}/${p.name} (id ${p.id})`);
  const more = policies.length > LISTED ? ` and ${policies.length - LISTED} more` : "";
  const message = `${field}: ${kind} \`${name}\` is named by ${policies.length} ${
    policies.length === 1 ? "policy" : "policies"
  }: ${listed.join(", ")}${more}; pass force=true to remove the ${kind} from them and delete it`;
  return PrincipalInPolicies(message, {
    details: [{ field, rule: "unreferenced", message }],
    meta: { kind, name, policies },
  });
}

/** `items` without `name` among their `kind`s; an item left naming nobody is dropped (Ranger's rule). */
function withoutPrincipal(items: RangerPolicyItem[], kind: PrincipalKind, name: string): RangerPolicyItem[] {
  const key = COLUMN[kind];
  const out: RangerPolicyItem[] = [];
  for (const item of items) {
    const names = item[key] ?? [];
    if (!names.includes(name)) {
      out.push(item);
      continue;
    }
    const next = { ...item, [key]: names.filter((n) => n !== name) };
    if ((next.users ?? []).length + (next.groups ?? []).length + (next.roles ?? []).length > 0) out.push(next);
  }
  return out;
}

/** The policy with `name` removed from every item list (allow, deny, exceptions, masks, row filters). */
export function policyWithoutPrincipal(policy: RangerPolicy, kind: PrincipalKind, name: string): RangerPolicy {
  const next: RangerPolicy = { ...policy };
  for (const list of ITEM_LISTS) {
    const items = policy[list] as RangerPolicyItem[] | undefined;
    if (items) (next as Record<string, unknown>)[list] = withoutPrincipal(items, kind, name);
  }
  return next;
}

/**
 * Guards the delete of a principal: when policies name it, refuses with PRINCIPAL_IN_POLICIES
 * unless `force`, and with `force` removes it from each of them in the caller's transaction as
 * an ordinary policy update (Ranger's XUserMgr.deleteXGroup/deleteXUser with forceDelete): a new
 * policy version, a delta the engines and plugins follow, an audit event, the caller's zone
 * authority checked. A name another organisation's principal of the same kind still holds is not
 * dangling (policies name principals across organisations), so it is left alone.
 */
export async function releasePrincipal(
  tx: Tx,
  ctx: AuditContext,
  kind: PrincipalKind,
  name: string,
  force: boolean,
  stillHeld: boolean,
): Promise<void> {
  if (stillHeld) return;
  const policies = await policiesNaming(tx, kind, name);
  if (policies.length === 0) return;
  if (!force) throw principalInPolicies(kind, name, policies);
  const byService = new Map<string, number[]>();
  for (const p of policies) byService.set(p.service, [...(byService.get(p.service) ?? []), p.id]);
  for (const [service, ids] of byService) {
    const target = await findServiceWithDef(tx, service);
    if (!target) continue;
    const items = [];
    for (const id of ids) {
      const record = await getPolicyRecord(tx, id, true);
      if (!record) continue;
      items.push({
        policy: policyWithoutPrincipal(present(record, target), kind, name),
        mode: "update" as const,
        id,
        field: `policies[${id}]`,
      });
    }
    for (const outcome of await applyChanges(tx, ctx, target, items)) {
      if (outcome.status === "failed" && outcome.error) throw outcome.error;
    }
  }
}
