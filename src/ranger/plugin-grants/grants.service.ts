import { type AuditContext, recordAudit } from "../../audit/audit.service.ts";
import type { RangerPolicy, RangerPolicyResources } from "../../engine/types.ts";
import { Forbidden, fieldError, PolicyInvalid } from "../../errors.ts";
import { applyOne } from "../../policies/policies.service.ts";
import { findConflicting, getPolicyRecord } from "../../policies/policies.store.ts";
import { applyGrant, applyRevoke, type GrantChange } from "../../policies/ranger-merge.ts";
import { resourceSignature } from "../../policies/signature.ts";
import type { ServiceWithDef } from "../../service-defs/service-defs.store.ts";
import type { Tx } from "../../storage/db.ts";

/** Ranger's `GrantRevokeRequest`, as plugins send it (fields Gatehouse reads). */
export interface GrantRevokeRequest {
  grantor: string;
  grantorGroups?: string[];
  resource: Record<string, string>;
  users?: string[];
  groups?: string[];
  roles?: string[];
  accessTypes: string[];
  delegateAdmin?: boolean;
  enableAudit?: boolean;
  replaceExistingPermissions?: boolean;
  isRecursive?: boolean;
  zoneName?: string;
  ownerUser?: string;
}

/** What a grant or revoke did to the policy covering exactly its resource. */
export interface GrantOutcome {
  status: "created" | "updated" | "unchanged" | "none";
  policyId: number | null;
  policyName: string | null;
  zoneName: string;
}

/**
 * Applies a plugin's grant or revoke in the caller's transaction, as Ranger admin's
 * `ServiceREST#grantAccess`/`#revokeAccess` do: the access policy whose resources are exactly the
 * request's (found by resource signature, in the request's zone) gets the principals merged in or
 * out (merge.ts); a grant with no such policy creates one named `grant-<epoch ms>`; a revoke with
 * none changes nothing. The caller has already checked that the grantor may administer the
 * resource. The policy write goes through `applyOne` (validation, version, delta, its own audit
 * event), and one `policy.granted`/`policy.revoked` event records the request and the grantor.
 */
export async function applyGrantRevoke(
  tx: Tx,
  ctx: AuditContext,
  target: ServiceWithDef,
  kind: "grant" | "revoke",
  request: GrantRevokeRequest,
  zoneName: string,
): Promise<GrantOutcome> {
  const change: GrantChange = {
    users: request.users ?? [],
    groups: request.groups ?? [],
    roles: request.roles ?? [],
    accessTypes: request.accessTypes,
    delegateAdmin: request.delegateAdmin === true,
    replaceExistingPermissions: request.replaceExistingPermissions === true,
  };
  const resources = policyResources(target, request);
  const probe: RangerPolicy = { policyType: 0, resources, ...(zoneName ? { zoneName } : {}) };
  const [match] = await findConflicting(tx, target.service.id, [], [], [resourceSignature(probe, "")]);
  const current = match ? await getPolicyRecord(tx, match.id, true) : undefined;

  let outcome: GrantOutcome;
  if (current) {
    const next = kind === "grant" ? applyGrant(current.body, change) : applyRevoke(current.body, change);
    const applied = await applyOne(tx, ctx, target, { policy: next, mode: "update", id: current.id });
    outcome = {
      status: applied.status as GrantOutcome["status"],
      policyId: current.id,
      policyName: applied.name,
      zoneName,
    };
  } else if (kind === "revoke") {
    outcome = { status: "none", policyId: null, policyName: null, zoneName };
  } else {
    const policy: RangerPolicy = {
      name: await freeGrantName(tx, target.service.id, zoneName),
      description: "created by grant",
      isAuditEnabled: request.enableAudit !== false,
      resources,
      policyItems: [
        {
          users: change.users,
          groups: change.groups,
          roles: change.roles,
          accesses: change.accessTypes.map((type) => ({ type, isAllowed: true })),
          delegateAdmin: change.delegateAdmin,
        },
      ],
      ...(zoneName ? { zoneName } : {}),
    };
    const created = await applyOne(tx, ctx, target, { policy, mode: "create" });
    outcome = { status: "created", policyId: created.id, policyName: created.name, zoneName };
  }
  await recordAudit(tx, ctx, {
    action: kind === "grant" ? "policy.granted" : "policy.revoked",
    targetType: "policy",
    targetId: outcome.policyId === null ? null : String(outcome.policyId),
    after: {
      service: target.service.name,
      grantor: request.grantor,
      resource: request.resource,
      ...change,
      outcome: outcome.status,
    },
  });
  return outcome;
}

/**
 * The grant's resources in policy form: one value per key. `isRecursive` is kept only on
 * resources whose definition supports it (the policy validator rejects it elsewhere; Ranger sets
 * it on every key).
 */
function policyResources(target: ServiceWithDef, request: GrantRevokeRequest): RangerPolicyResources {
  const recursive = new Set(target.def.resources?.filter((r) => r.recursiveSupported).map((r) => r.name));
  const out: RangerPolicyResources = {};
  for (const [name, value] of Object.entries(request.resource)) {
    out[name] = {
      values: [value],
      isExcludes: false,
      isRecursive: request.isRecursive === true && recursive.has(name),
    };
  }
  return out;
}

/** `grant-<epoch ms>` as Ranger names it, with a `-<n>` suffix when two grants share a millisecond. */
async function freeGrantName(tx: Tx, serviceId: number, zoneName: string): Promise<string> {
  const base = `grant-${Date.now()}`;
  for (let n = 1; ; n++) {
    const name = n === 1 ? base : `${base}-${n}`;
    const taken = await findConflicting(tx, serviceId, [zoneName], [name], []);
    if (taken.length === 0) return name;
  }
}

/** The request's checks that need no database: at least one principal and access type. */
export function checkGrantRequest(request: GrantRevokeRequest, kind: "grant" | "revoke"): void {
  const principals = (request.users?.length ?? 0) + (request.groups?.length ?? 0) + (request.roles?.length ?? 0);
  if (principals === 0) {
    throw fieldError(
      PolicyInvalid,
      "body.users",
      "principalRequired",
      `a ${kind} names at least one user, group or role`,
    );
  }
  if (Object.keys(request.resource).length === 0) {
    throw fieldError(PolicyInvalid, "body.resource", "resourceRequired", "names at least one resource element");
  }
}

/** The 403 for a grantor without delegated admin on the resource (Ranger's wording). */
export function grantorNotAdmin(kind: "grant" | "revoke", grantor: string): Error {
  return Forbidden(
    `User doesn't have necessary permission to ${kind} access: \`${grantor}\` has no delegated admin on the resource`,
  );
}
