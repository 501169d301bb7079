import { sql } from "kysely";
import { type AuditContext, recordAudit } from "../audit/audit.service.ts";
import type { RangerServiceDef } from "../engine/index.ts";
import {
  type ErrorDetail,
  fieldError,
  ZoneInUse,
  ZoneInvalid,
  ZoneNameTaken,
  ZoneNotFound,
  ZoneResourcesOverlap,
} from "../errors.ts";
import { visibleName } from "../http/names.ts";
import { TAG_SERVICE_DEF } from "../service-defs/builtin.ts";
import type { Queryable, Tx } from "../storage/db.ts";
import { canonicalJson } from "../tags/tags.service.ts";
import { findOverlap, type ZonePlan, type ZoneServiceTarget, zoneServiceIssues } from "./validate-zone.ts";
import { requireZoneChangeAllowed } from "./zone-admin-changes.ts";
import { zoneWriteAuthority } from "./zone-admins.ts";
import {
  bumpZoneServices,
  countZonePolicies,
  findZoneId,
  otherZoneClaims,
  presentZones,
  type ZoneResource,
  type ZoneView,
} from "./zones.store.ts";

/** A zone as clients send it (`POST`); on `PATCH` every field is optional and replaces the stored one. */
export interface ZoneInput {
  name: string;
  description?: string;
  services?: Record<string, { resources: ZoneResource[] }>;
  tagServices?: string[];
  adminUsers?: string[];
  adminUserGroups?: string[];
  adminRoles?: string[];
  auditUsers?: string[];
  auditUserGroups?: string[];
  auditRoles?: string[];
}

/** Throws ZONE_INVALID with every detail when there are any; the message is the first one. */
function failIfAny(details: ErrorDetail[]): void {
  if (details.length === 0) return;
  const more = details.length > 1 ? ` (and ${details.length - 1} more in details)` : "";
  throw ZoneInvalid(`${details[0]?.message}${more}`, { details });
}

/** The named services with their service-defs. */
async function resolveServices(db: Queryable, names: string[]): Promise<Map<string, ZoneServiceTarget>> {
  if (names.length === 0) return new Map();
  const rows = await db
    .selectFrom("services as s")
    .innerJoin("service_defs as d", "d.name", "s.type")
    .select(["s.id", "s.name", "s.type", "d.id as def_id", "d.def"])
    .where("s.name", "in", names)
    .execute();
  return new Map(
    rows.map((r) => [
      r.name,
      { id: r.id, name: r.name, type: r.type, def: { ...(r.def as unknown as RangerServiceDef), id: r.def_id } },
    ]),
  );
}

/** Resolves and validates the zone's services; throws ZONE_INVALID naming every problem. */
async function planOf(db: Queryable, input: ZoneInput): Promise<ZonePlan> {
  const services = input.services ?? {};
  const tagServices = input.tagServices ?? [];
  const found = await resolveServices(db, [...new Set([...Object.keys(services), ...tagServices])]);
  const { issues, plan } = zoneServiceIssues(services, tagServices, found);
  failIfAny(issues);
  return plan;
}

/** Row locks on the services in id order (the order tag and zone writers share), so writers never deadlock. */
async function lockServices(db: Queryable, ids: Iterable<number>): Promise<void> {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  if (sorted.length === 0) return;
  await db.selectFrom("services").select("id").where("id", "in", sorted).orderBy("id").forUpdate().execute();
}

/** Refuses resources another zone claims (Ranger's overlap rule, see `findOverlap`), as 409 naming the field. */
async function refuseOverlaps(db: Queryable, zoneName: string, plan: ZonePlan, zoneId: number | null): Promise<void> {
  for (const { target, resources } of plan.services) {
    const overlap = findOverlap(zoneName, target, resources, await otherZoneClaims(db, target.id, zoneId));
    if (!overlap) continue;
    const field = `body.services.${overlap.service}.resources[${overlap.index}]`;
    throw fieldError(
      ZoneResourcesOverlap,
      field,
      "noOverlap",
      `overlaps the resources zone \`${overlap.otherZone}\` claims in service \`${overlap.service}\` (${canonicalJson(overlap.resource)} matches both zones)`,
      { zone: overlap.otherZone, service: overlap.service },
    );
  }
}

/** The zone's memberships: service ids, split into data and tag services. */
async function membersOf(db: Queryable, zoneId: number): Promise<{ id: number; name: string; isTag: boolean }[]> {
  const rows = await db
    .selectFrom("security_zone_services as m")
    .innerJoin("services as s", "s.id", "m.service_id")
    .select(["s.id", "s.name", "s.type"])
    .where("m.zone_id", "=", zoneId)
    .execute();
  return rows.map((r) => ({ id: r.id, name: r.name, isTag: r.type === TAG_SERVICE_DEF }));
}

async function writeMembers(tx: Tx, zoneId: number, plan: ZonePlan): Promise<void> {
  await tx.deleteFrom("security_zone_services").where("zone_id", "=", zoneId).execute();
  const rows = [
    ...plan.services.map((s) => ({ zone_id: zoneId, service_id: s.target.id, resources: JSON.stringify(s.resources) })),
    ...plan.tagServices.map((t) => ({ zone_id: zoneId, service_id: t.id, resources: "[]" })),
  ];
  if (rows.length > 0) await tx.insertInto("security_zone_services").values(rows).execute();
}

function principalColumns(input: Partial<ZoneInput>) {
  return {
    ...(input.adminUsers !== undefined ? { admin_users: input.adminUsers } : {}),
    ...(input.adminUserGroups !== undefined ? { admin_user_groups: input.adminUserGroups } : {}),
    ...(input.adminRoles !== undefined ? { admin_roles: input.adminRoles } : {}),
    ...(input.auditUsers !== undefined ? { audit_users: input.auditUsers } : {}),
    ...(input.auditUserGroups !== undefined ? { audit_user_groups: input.auditUserGroups } : {}),
    ...(input.auditRoles !== undefined ? { audit_roles: input.auditRoles } : {}),
  };
}

async function viewOf(db: Queryable, id: number): Promise<ZoneView> {
  const [view] = await presentZones(db, [id]);
  if (!view) throw ZoneNotFound(`security zone ${id} not found`);
  return view;
}

/**
 * Creates a zone. Validated whole (services, resources against each service-def, Ranger's overlap
 * rule against the other zones), then one transaction inserts it, bumps the policy version of
 * each data service of the zone without a delta (its engines and plugins reload with the zone)
 * and records `zone.created`. The services are row-locked before the overlap check, so two
 * zones claiming the same resources cannot both be created.
 */
export async function createZone(tx: Tx, ctx: AuditContext, input: ZoneInput): Promise<ZoneView> {
  // one spelling per name: NFD and NFC "é" are one zone (docs/input-rules.md)
  const name = visibleName(input.name, "body.name");
  if (name !== input.name) return createZone(tx, ctx, { ...input, name });
  const plan = await planOf(tx, input);
  if ((await findZoneId(tx, input.name)) !== undefined) throw ZoneNameTaken(`security zone \`${input.name}\` exists`);
  await lockServices(tx, [...plan.services.map((s) => s.target.id), ...plan.tagServices.map((t) => t.id)]);
  await refuseOverlaps(tx, input.name, plan, null);
  const actor = ctx.actor.name ?? ctx.actor.id ?? null;
  const row = await tx
    .insertInto("security_zones")
    .values({
      name: input.name,
      description: input.description ?? "",
      ...principalColumns(input),
      created_by: actor,
      updated_by: actor,
    })
    .onConflict((oc) => oc.expression(sqlLowerName).doNothing())
    .returning("id")
    .executeTakeFirst();
  if (!row) throw ZoneNameTaken(`security zone \`${input.name}\` exists`);
  await writeMembers(tx, row.id, plan);
  await bumpZoneServices(
    tx,
    plan.services.map((s) => s.target.id),
  );
  const view = await viewOf(tx, row.id);
  await recordAudit(tx, ctx, { action: "zone.created", targetType: "zone", targetId: String(row.id), after: view });
  return view;
}

const sqlLowerName = sql`lower(name)`;

/** One zone by name (ignoring case); ZONE_NOT_FOUND when absent. */
export async function getZone(db: Queryable, name: string): Promise<ZoneView> {
  const id = await findZoneId(db, name);
  if (id === undefined) throw zoneNotFound(name);
  return viewOf(db, id);
}

/** The ZONE_NOT_FOUND of zone `name`; also the answer to a zone administrator for a zone it may not read. */
export function zoneNotFound(name: string) {
  return ZoneNotFound(`security zone \`${name}\` not found`);
}

/**
 * Changes a zone: the given fields replace the stored ones (`services` and `tagServices` whole).
 * A caller without `policy.write` may change only the admin and audit lists of a zone it
 * administers (Ranger's rule, `requireZoneChangeAllowed`), checked before anything else.
 * Refused with ZONE_IN_USE when it would strand policies: renaming a zone that has policies
 * (they name it), or removing a service whose policies are in the zone. A change to the services,
 * resources or tag services bumps the policy version of every data service in the zone before or
 * after, without a delta; a change to the description or the admin and audit lists bumps nothing.
 */
export async function updateZone(
  tx: Tx,
  ctx: AuditContext,
  name: string,
  patch: Partial<ZoneInput>,
): Promise<ZoneView> {
  const newName = patch.name === undefined ? undefined : visibleName(patch.name, "body.name");
  if (newName !== patch.name) return updateZone(tx, ctx, name, { ...patch, name: newName as string });
  const id = await findZoneId(tx, name, true);
  if (id === undefined) throw zoneNotFound(name);
  const before = await viewOf(tx, id);
  const authority = await zoneWriteAuthority(tx, ctx.actor);
  if (authority) requireZoneChangeAllowed(authority, ctx.actor, before, patch, () => zoneNotFound(name));
  const nextName = patch.name ?? before.name;
  if (nextName !== before.name) {
    const holder = await findZoneId(tx, nextName);
    if (holder !== undefined && holder !== id) throw ZoneNameTaken(`security zone \`${nextName}\` exists`);
    const count = await countZonePolicies(tx, before.name, null);
    if (count > 0) {
      throw fieldError(
        ZoneInUse,
        "body.name",
        "immutableWithPolicies",
        `zone \`${before.name}\` has ${count} ${count === 1 ? "policy" : "policies"}, which name it; a zone with policies cannot be renamed`,
        { policies: count },
      );
    }
  }
  const merged: ZoneInput = {
    name: nextName,
    services: patch.services ?? before.services,
    tagServices: patch.tagServices ?? before.tagServices,
  };
  const plan = await planOf(tx, merged);
  const members = await membersOf(tx, id);
  const kept = new Set([...plan.services.map((s) => s.target.id), ...plan.tagServices.map((t) => t.id)]);
  const removed = members.filter((m) => !kept.has(m.id));
  const stranded = await countZonePolicies(
    tx,
    before.name,
    removed.map((m) => m.id),
  );
  if (stranded > 0) {
    const names = removed.map((m) => `\`${m.name}\``).join(", ");
    throw fieldError(
      ZoneInUse,
      "body.services",
      "servicesWithPolicies",
      `${stranded} ${stranded === 1 ? "policy" : "policies"} of ${names} belong to zone \`${before.name}\`; delete them before removing the service from the zone`,
      { policies: stranded },
    );
  }
  const membershipChanged =
    canonicalJson({ s: before.services, t: [...before.tagServices].sort() }) !==
    canonicalJson({ s: merged.services, t: [...(merged.tagServices ?? [])].sort() });
  if (membershipChanged) {
    await lockServices(tx, [...members.map((m) => m.id), ...kept]);
    await refuseOverlaps(tx, nextName, plan, id);
    await writeMembers(tx, id, plan);
    await bumpZoneServices(tx, [
      ...members.filter((m) => !m.isTag).map((m) => m.id),
      ...plan.services.map((s) => s.target.id),
    ]);
  }
  await tx
    .updateTable("security_zones")
    .set({
      name: nextName,
      ...(patch.description !== undefined ? { description: patch.description } : {}),
      ...principalColumns(patch),
      updated_by: ctx.actor.name ?? ctx.actor.id ?? null,
      updated_at: sql`now()`,
    })
    .where("id", "=", id)
    .execute();
  const after = await viewOf(tx, id);
  await recordAudit(tx, ctx, { action: "zone.updated", targetType: "zone", targetId: String(id), before, after });
  return after;
}

/**
 * Deletes a zone that has no policies (ZONE_IN_USE naming how many otherwise: delete or move
 * them first; there is no cascade, so a zone's policies are never lost by accident). Bumps the
 * policy version of the zone's data services, whose requests fall back to their default zone.
 */
export async function deleteZone(tx: Tx, ctx: AuditContext, name: string): Promise<void> {
  const id = await findZoneId(tx, name, true);
  if (id === undefined) throw ZoneNotFound(`security zone \`${name}\` not found`);
  const before = await viewOf(tx, id);
  const count = await countZonePolicies(tx, before.name, null);
  if (count > 0) {
    throw ZoneInUse(
      `security zone \`${before.name}\` has ${count} ${count === 1 ? "policy" : "policies"}; delete them (or move them to another zone) first`,
      { meta: { policies: count } },
    );
  }
  const members = await membersOf(tx, id);
  await lockServices(
    tx,
    members.map((m) => m.id),
  );
  await tx.deleteFrom("security_zones").where("id", "=", id).execute();
  await bumpZoneServices(
    tx,
    members.filter((m) => !m.isTag).map((m) => m.id),
  );
  await recordAudit(tx, ctx, { action: "zone.deleted", targetType: "zone", targetId: String(id), before });
}
