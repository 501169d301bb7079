import { randomUUID } from "node:crypto";
import type { AuditContext } from "../audit/audit.service.ts";
import {
  CHANGE_TYPE_POLICY_CREATE,
  CHANGE_TYPE_POLICY_DELETE,
  CHANGE_TYPE_POLICY_UPDATE,
  type RangerPolicy,
} from "../engine/types.ts";
import { type AppError, PolicyDuplicateResources, PolicyInvalid, PolicyNameTaken, PolicyNotFound } from "../errors.ts";
import type { ServiceWithDef } from "../service-defs/service-defs.store.ts";
import type { Queryable, Tx } from "../storage/db.ts";
import { requireZoneAdmin, zoneAdminRefusal, zoneHiddenFrom, zoneWriteAuthority } from "../zones/zone-admins.ts";
import { zoneNamesLike, zonesIncludingService } from "../zones/zones.store.ts";
import {
  deletePolicyRow,
  findConflicting,
  getPolicyRecord,
  insertPolicies,
  type PolicyRecord,
  type PolicyWrite,
  recordChanges,
  replacePolicyResources,
  updatePolicyRow,
} from "./policies.store.ts";
import { normalizePolicy, presentPolicy, principalsOf } from "./policy-model.ts";
import { resourceSignature } from "./signature.ts";
import { validatePolicy } from "./validate.ts";

/**
 * One requested change. `create` fails on an existing name; `upsert` updates the same-named
 * policy (Nx1 `overwrite`, imports); `update` rewrites policy `id` (PUT, PATCH, revert).
 */
export interface ChangeItem {
  policy: RangerPolicy;
  mode: "create" | "upsert" | "update";
  id?: number;
  /** Prefix of field names in failures, e.g. `body` or `rows[3]`. */
  field?: string;
}

/** What happened to one item. `unchanged` means the stored policy already equals the request. */
export interface ChangeOutcome {
  status: "created" | "updated" | "unchanged" | "failed";
  name: string;
  id: number | null;
  error?: AppError;
  policy?: RangerPolicy;
}

/** JSON with sorted keys, so bodies compare equal whatever order jsonb returned them in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/** jsonb keeps keys in its own order; clients read resources top-down (catalog, schema, ...). */
function withResourcesInDefOrder(body: RangerPolicy, target: ServiceWithDef): RangerPolicy {
  const resources = body.resources;
  if (!resources) return body;
  const order = new Map((target.def.resources ?? []).map((r, i) => [r.name, i]));
  const keys = Object.keys(resources).sort((a, b) => (order.get(a) ?? 99) - (order.get(b) ?? 99));
  return { ...body, resources: Object.fromEntries(keys.map((k) => [k, resources[k] ?? {}])) };
}

/** Presents a record of `target`'s service in Ranger's JSON. */
export function present(record: PolicyRecord, target: ServiceWithDef): RangerPolicy {
  return presentPolicy(withResourcesInDefOrder(record.body, target), {
    id: record.id,
    guid: record.guid,
    version: record.version,
    service: target.service.name,
    serviceType: target.service.type,
    resourceSignature: record.resourceSignature,
    isEnabled: record.isEnabled,
    createdBy: record.createdBy,
    updatedBy: record.updatedBy,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  });
}

/**
 * Ranger's zone rule (ranger-semantics §1.5): a policy's `zoneName` must name an existing zone
 * that includes the policy's service (as a data service or a tag service). The zones found are
 * share-locked for the transaction, so a zone cannot go (or drop the service) under the write.
 * Returns one POLICY_INVALID naming `<field>.zoneName` per failing item.
 */
async function zoneFailures(
  db: Queryable,
  target: ServiceWithDef,
  bodies: (RangerPolicy | null)[],
  items: ChangeItem[],
): Promise<{ index: number; error: AppError }[]> {
  const named = [...new Set(bodies.flatMap((b) => (b?.zoneName ? [b.zoneName] : [])))];
  if (named.length === 0) return [];
  const including = await zonesIncludingService(db, target.service.id, named);
  const spelled = named.some((n) => !including.has(n)) ? await zoneNamesLike(db, named) : new Map<string, string>();
  const out: { index: number; error: AppError }[] = [];
  bodies.forEach((b, i) => {
    const zone = b?.zoneName;
    if (!zone || including.has(zone)) return;
    const field = `${items[i]?.field ?? "body"}.zoneName`;
    const exact = spelled.get(zone.toLowerCase());
    const message =
      exact === undefined
        ? `${field}: security zone \`${zone}\` does not exist`
        : exact !== zone
          ? `${field}: security zone \`${zone}\` does not exist; did you mean \`${exact}\`?`
          : `${field}: security zone \`${zone}\` does not include service \`${target.service.name}\`; add the service to the zone first`;
    out.push({ index: i, error: PolicyInvalid(message, { details: [{ field, rule: "zoneKnown", message }] }) });
  });
  return out;
}

interface Planned {
  index: number;
  body: RangerPolicy;
  guid: string;
  signature: string;
  existing?: PolicyRecord;
}

/**
 * Applies a batch of policy changes in the caller's transaction: validates each against the
 * service-def, resolves names and resource signatures (against the database and within the
 * batch), then writes the survivors with a few multi-row statements. The service's policy version
 * is bumped once per applied change, each change gets a version-history row, a Ranger delta and an
 * audit event, all in the same transaction. Failed items are reported, never thrown, so a bulk
 * import can apply the rest; single-policy routes throw the one outcome's error.
 */
export async function applyChanges(
  tx: Tx,
  ctx: AuditContext,
  target: ServiceWithDef,
  items: ChangeItem[],
): Promise<ChangeOutcome[]> {
  const serviceId = target.service.id;
  const outcomes: ChangeOutcome[] = items.map((item) => ({
    status: "failed",
    name: String(item.policy.name ?? ""),
    id: null,
  }));
  const fail = (i: number, error: AppError) => {
    outcomes[i] = { status: "failed", name: outcomes[i]?.name ?? "", id: outcomes[i]?.id ?? null, error };
  };

  // Zone administrators without `policy.write` write only their zones' policies (Ranger's
  // ServiceREST#ensureAdminAccess): the zone a policy goes to is checked here, before validation,
  // and the zone it comes from once the stored policy is known.
  const authority = await zoneWriteAuthority(tx, ctx.actor);
  const refused = (i: number, zone: string, name: string | undefined): boolean => {
    if (!authority) return false;
    const error = zoneAdminRefusal(authority, zone, name ? `policy \`${name}\`` : "a policy");
    if (error) fail(i, error);
    return error !== null;
  };

  const bodies: (RangerPolicy | null)[] = items.map((item, i) => {
    const body = normalizePolicy(item.policy);
    if (refused(i, body.zoneName ?? "", body.name)) return null;
    const details = validatePolicy(body, target.def, item.field ?? "body");
    if (details.length > 0) {
      fail(i, PolicyInvalid(details.map((d) => d.message).join("; "), { details }));
      return null;
    }
    return body;
  });

  // Ranger: a policy's zone must exist and include the policy's service.
  for (const z of await zoneFailures(tx, target, bodies, items)) {
    fail(z.index, z.error);
    bodies[z.index] = null;
  }

  // One lookup for both conflicts: same names, and same resource signatures. A new policy's guid
  // only enters its signature when it is disabled, so provisional signatures are final for
  // enabled policies, and a disabled one can never collide (its guid is unique).
  const newGuids = items.map(() => randomUUID());
  const provisional = bodies.map((b, i) => (b ? resourceSignature(b, newGuids[i] as string) : ""));
  const valid = bodies.filter((b): b is RangerPolicy => b !== null);
  const found = await findConflicting(
    tx,
    serviceId,
    [...new Set(valid.map((b) => b.zoneName ?? ""))],
    [...new Set(valid.map((b) => b.name ?? ""))],
    provisional.filter((sig) => sig !== ""),
  );
  const byName = new Map<string, PolicyRecord>();
  const holders = new Map<string, { id: number; name: string }>();
  for (const r of found) {
    byName.set(`${r.zoneName}\u0000${r.name}`, r);
    holders.set(r.resourceSignature, { id: r.id, name: r.name });
  }
  const byId = new Map<number, PolicyRecord>();
  for (const item of items) {
    if (item.mode === "update" && item.id !== undefined && !byId.has(item.id)) {
      const r = await getPolicyRecord(tx, item.id, true);
      if (r && r.serviceId === serviceId) byId.set(r.id, r);
    }
  }

  const planned: Planned[] = [];
  const namesInBatch = new Map<string, number>();
  for (const [i, item] of items.entries()) {
    const body = bodies[i];
    if (!body) continue;
    const field = item.field ?? "body";
    const nameKey = `${body.zoneName ?? ""}\u0000${body.name}`;
    const sameName = byName.get(nameKey);
    let existing: PolicyRecord | undefined;
    if (item.mode === "update") {
      existing = item.id !== undefined ? byId.get(item.id) : undefined;
      if (!existing) {
        fail(i, policyNotFoundIn(target, item.id));
        continue;
      }
      // A zone administrator that may not even read the stored policy learns nothing of it.
      if (authority && zoneHiddenFrom(authority, ctx.actor, existing.zoneName)) {
        fail(i, policyNotFoundIn(target, existing.id));
        continue;
      }
      if (refused(i, existing.zoneName, existing.name)) continue;
      if (sameName && sameName.id !== existing.id) {
        fail(
          i,
          PolicyNameTaken(`${field}.name: policy \`${body.name}\` exists (id ${sameName.id})`, {
            meta: { policyId: sameName.id },
            details: [{ field: `${field}.name`, rule: "unique", message: `${field}.name: \`${body.name}\` is taken` }],
          }),
        );
        continue;
      }
      if ((body.policyType ?? 0) !== existing.policyType) {
        const message = `${field}.policyType: cannot change from ${existing.policyType} to ${body.policyType}; create a new policy`;
        fail(i, PolicyInvalid(message, { details: [{ field: `${field}.policyType`, rule: "immutable", message }] }));
        continue;
      }
    } else if (sameName) {
      if (item.mode === "create") {
        fail(
          i,
          PolicyNameTaken(`${field}.name: policy \`${body.name}\` already exists (id ${sameName.id})`, {
            meta: { policyId: sameName.id },
            details: [{ field: `${field}.name`, rule: "unique", message: `${field}.name: \`${body.name}\` is taken` }],
          }),
        );
        continue;
      }
      existing = sameName;
      if (refused(i, existing.zoneName, existing.name)) continue;
    }
    const earlier = namesInBatch.get(nameKey);
    if (earlier !== undefined) {
      fail(
        i,
        PolicyNameTaken(`${field}.name: \`${body.name}\` is also the name of another policy in this request`, {
          details: [
            { field: `${field}.name`, rule: "unique", message: `${field}.name: \`${body.name}\` appears twice` },
          ],
        }),
      );
      continue;
    }
    namesInBatch.set(nameKey, i);
    if (existing && existing.policyType !== (body.policyType ?? 0)) {
      const message = `${field}.policyType: policy \`${body.name}\` is of type ${existing.policyType}; the type of a policy cannot change`;
      fail(i, PolicyInvalid(message, { details: [{ field: `${field}.policyType`, rule: "immutable", message }] }));
      continue;
    }
    const guid = existing?.guid ?? (newGuids[i] as string);
    const signature = existing && body.isEnabled === false ? resourceSignature(body, guid) : (provisional[i] as string);
    planned.push({ index: i, body, guid, signature, existing });
  }

  // Resource signatures: one policy per type, zone and resource set (Ranger 3010).
  const sigInBatch = new Map<string, Planned>();
  const survivors: Planned[] = [];
  for (const p of planned) {
    const field = items[p.index]?.field ?? "body";
    const holder = holders.get(p.signature);
    const twin = sigInBatch.get(p.signature);
    const other =
      holder && holder.id !== p.existing?.id ? holder : twin ? { id: null, name: twin.body.name } : undefined;
    if (other) {
      const where = other.id === null ? "another item of this request" : `policy \`${other.name}\` (id ${other.id})`;
      fail(
        p.index,
        PolicyDuplicateResources(
          `${field}.resources: ${where} already covers the same resources with the same policy type; edit that policy instead`,
          {
            meta: other.id === null ? {} : { policyId: other.id, policyName: other.name },
            details: [
              {
                field: `${field}.resources`,
                rule: "resourceSignature",
                message: `${field}.resources: duplicates ${where}`,
              },
            ],
          },
        ),
      );
      continue;
    }
    sigInBatch.set(p.signature, p);
    if (p.existing && canonicalJson(p.existing.body) === canonicalJson(p.body)) {
      outcomes[p.index] = {
        status: "unchanged",
        name: p.body.name ?? "",
        id: p.existing.id,
        policy: present(p.existing, target),
      };
      continue;
    }
    survivors.push(p);
  }
  if (survivors.length === 0) return outcomes;

  const actor = ctx.actor.name ?? ctx.actor.id ?? null;
  const write = (p: Planned): PolicyWrite => ({
    guid: p.guid,
    serviceId,
    body: p.body,
    signature: p.signature,
    labels: p.body.policyLabels ?? [],
    ...principalsOf(p.body),
    actor,
  });
  const inserted = await insertPolicies(tx, survivors.filter((p) => !p.existing).map(write));
  const written: { p: Planned; record: PolicyRecord; created: boolean }[] = [];
  for (const p of survivors) {
    if (p.existing) written.push({ p, record: await updatePolicyRow(tx, p.existing.id, write(p)), created: false });
    else written.push({ p, record: inserted.get(p.guid) as PolicyRecord, created: true });
  }
  await replacePolicyResources(
    tx,
    serviceId,
    written
      .filter((w) => !w.created)
      .map((w) => ({ id: w.record.id, resources: w.p.body.resources ?? {}, additional: w.p.body.additionalResources })),
    true,
  );
  await replacePolicyResources(
    tx,
    serviceId,
    written
      .filter((w) => w.created)
      .map((w) => ({ id: w.record.id, resources: w.p.body.resources ?? {}, additional: w.p.body.additionalResources })),
    false,
  );
  await recordChanges(
    tx,
    ctx,
    serviceId,
    written.map((w) => {
      const presented = present(w.record, target);
      const changeType = w.created ? CHANGE_TYPE_POLICY_CREATE : CHANGE_TYPE_POLICY_UPDATE;
      outcomes[w.p.index] = {
        status: w.created ? "created" : "updated",
        name: w.record.name,
        id: w.record.id,
        policy: presented,
      };
      return {
        version: { policyId: w.record.id, version: w.record.version, serviceId, changeType, body: w.p.body, actor },
        delta: { serviceId, policyId: w.record.id, changeType, policy: presented },
        audit: {
          action: w.created ? "policy.created" : "policy.updated",
          targetType: "policy",
          targetId: String(w.record.id),
          before: w.p.existing ? present(w.p.existing, target) : null,
          after: presented,
        },
      };
    }),
  );
  return outcomes;
}

/** Applies one change and throws its error: the single-policy routes' entry point. */
export async function applyOne(
  tx: Tx,
  ctx: AuditContext,
  target: ServiceWithDef,
  item: ChangeItem,
): Promise<ChangeOutcome & { policy: RangerPolicy }> {
  const [outcome] = await applyChanges(tx, ctx, target, [item]);
  if (!outcome || outcome.status === "failed" || !outcome.policy) throw outcome?.error ?? new Error("no outcome");
  return outcome as ChangeOutcome & { policy: RangerPolicy };
}

/** Deletes a policy of `target`, with a delete delta, a version bump and an audit event. */
export async function deletePolicy(
  tx: Tx,
  ctx: AuditContext,
  target: ServiceWithDef,
  id: number,
): Promise<RangerPolicy> {
  const record = await getPolicyRecord(tx, id, true);
  if (!record || record.serviceId !== target.service.id) throw policyNotFoundIn(target, id);
  const authority = await zoneWriteAuthority(tx, ctx.actor);
  if (authority) {
    // A zone administrator that may not even read the policy gets the answer of a missing one.
    if (zoneHiddenFrom(authority, ctx.actor, record.zoneName)) throw policyNotFoundIn(target, id);
    requireZoneAdmin(authority, record.zoneName, `policy \`${record.name}\``);
  }
  const presented = present(record, target);
  await deletePolicyRow(tx, id);
  await recordChanges(tx, ctx, target.service.id, [
    {
      delta: { serviceId: target.service.id, policyId: id, changeType: CHANGE_TYPE_POLICY_DELETE, policy: presented },
      audit: { action: "policy.deleted", targetType: "policy", targetId: String(id), before: presented },
    },
  ]);
  return presented;
}

/**
 * The POLICY_NOT_FOUND of policy `id` looked up in `target`: also the answer to a zone
 * administrator or auditor for a policy it may not read, so both answers are the same.
 */
export function policyNotFoundIn(target: ServiceWithDef, id: number | undefined): AppError {
  return PolicyNotFound(`policy ${id} not found in service \`${target.service.name}\``);
}

/** Loads a policy of `target` or throws POLICY_NOT_FOUND. */
export async function requirePolicy(tx: Queryable, target: ServiceWithDef, id: number): Promise<PolicyRecord> {
  const record = await getPolicyRecord(tx, id);
  if (!record || record.serviceId !== target.service.id) throw policyNotFoundIn(target, id);
  return record;
}
