import { fieldError, ValidationFailed } from "../../errors.ts";
import type { Queryable } from "../../storage/db.ts";
import type { ZoneInput } from "../../zones/zones.service.ts";
import { listZoneIds, presentZones, type ZoneResource, type ZoneView } from "../../zones/zones.store.ts";

/** A principal of a v2 zone's `admins` or `auditors` (Ranger `RangerPrincipal`). */
export interface RangerPrincipal {
  type: string;
  name: string;
}

/** One resource of a zone service in v2 form (Ranger `RangerSecurityZoneResource`): numbered. */
export interface ZoneResourceV2 {
  id?: number | null;
  resource: ZoneResource;
}

/** Ranger's `RangerSecurityZoneV2`. */
export interface ZoneV2 {
  id?: number | null;
  name: string;
  description?: string;
  services?: Record<string, { resources?: ZoneResourceV2[] }>;
  tagServices?: string[];
  admins?: RangerPrincipal[];
  auditors?: RangerPrincipal[];
}

/** Ranger's `RangerSecurityZoneChangeRequest` (`PUT /zones-v2/{id}/partial`). */
export interface ZoneChangeRequest {
  name?: string;
  description?: string;
  resourcesToUpdate?: Record<string, { resources?: ZoneResourceV2[] }>;
  resourcesToRemove?: Record<string, { resources?: Partial<ZoneResourceV2>[] }>;
  tagServicesToAdd?: string[];
  tagServicesToRemove?: string[];
  adminsToAdd?: RangerPrincipal[];
  adminsToRemove?: RangerPrincipal[];
  auditorsToAdd?: RangerPrincipal[];
  auditorsToRemove?: RangerPrincipal[];
}

/** Every zone, in id order, as the native API answers it. */
export async function allZones(db: Queryable): Promise<ZoneView[]> {
  const zones: ZoneView[] = [];
  for (let after = 0; ; ) {
    const { ids } = await listZoneIds(db, after, 500);
    if (ids.length === 0) break;
    zones.push(...(await presentZones(db, ids)));
    after = ids[ids.length - 1] as number;
  }
  return zones;
}

/**
 * A zone's resources in v2 form: Ranger numbers each resource of a zone service; Gatehouse keeps
 * them as an ordered list, so the id is the position from 1 (stable until the list changes).
 */
function numbered(resources: ZoneResource[]): ZoneResourceV2[] {
  return resources.map((resource, i) => ({ id: i + 1, resource }));
}

function principals(users: string[], groups: string[], roles: string[]): RangerPrincipal[] {
  return [
    ...users.map((name) => ({ type: "USER", name })),
    ...groups.map((name) => ({ type: "GROUP", name })),
    ...roles.map((name) => ({ type: "ROLE", name })),
  ];
}

/** A zone in Ranger's v2 shape: numbered resources, admins and auditors as typed principals. */
export function presentZoneV2(zone: ZoneView) {
  const services: Record<string, { resources: ZoneResourceV2[] }> = {};
  for (const [name, s] of Object.entries(zone.services)) services[name] = { resources: numbered(s.resources) };
  return {
    id: zone.id,
    guid: zone.guid,
    isEnabled: true,
    createdBy: zone.createdBy,
    updatedBy: zone.updatedBy,
    createTime: zone.createTime,
    updateTime: zone.updateTime,
    name: zone.name,
    description: zone.description,
    services,
    tagServices: zone.tagServices,
    admins: principals(zone.adminUsers, zone.adminUserGroups, zone.adminRoles),
    auditors: principals(zone.auditUsers, zone.auditUserGroups, zone.auditRoles),
  };
}

const TYPES = ["USER", "GROUP", "ROLE"] as const;

function split(list: RangerPrincipal[] | undefined, field: string): [string[], string[], string[]] {
  const out: [string[], string[], string[]] = [[], [], []];
  (list ?? []).forEach((p, i) => {
    const at = TYPES.indexOf(String(p.type).toUpperCase() as (typeof TYPES)[number]);
    if (at < 0) throw fieldError(ValidationFailed, `${field}[${i}].type`, "enum", "must be USER, GROUP or ROLE");
    if (!out[at].includes(p.name)) out[at].push(p.name);
  });
  return out;
}

/** The native zone input a v2 zone stands for (absent lists and services are empty, as in Ranger). */
export function zoneInputOfV2(body: ZoneV2): ZoneInput {
  const services: ZoneInput["services"] = {};
  for (const [name, s] of Object.entries(body.services ?? {})) {
    services[name] = { resources: (s.resources ?? []).map((r) => r.resource) };
  }
  const [adminUsers, adminUserGroups, adminRoles] = split(body.admins, "body.admins");
  const [auditUsers, auditUserGroups, auditRoles] = split(body.auditors, "body.auditors");
  return {
    name: body.name,
    description: body.description ?? "",
    services,
    tagServices: body.tagServices ?? [],
    adminUsers,
    adminUserGroups,
    adminRoles,
    auditUsers,
    auditUserGroups,
    auditRoles,
  };
}

function sameResource(a: ZoneResource, b: ZoneResource): boolean {
  const keys = Object.keys(a).sort();
  const other = Object.keys(b).sort();
  if (keys.join("\u0000") !== other.join("\u0000")) return false;
  return keys.every((k) => JSON.stringify([...(a[k] ?? [])].sort()) === JSON.stringify([...(b[k] ?? [])].sort()));
}

/**
 * Ranger's partial zone update (`SecurityZoneREST#updateSecurityZone(id, changeRequest)`) applied to
 * the zone as it is: `resourcesToUpdate` replaces the resource with the given id, or adds the
 * resource when it has none (a service new to the zone joins it); `resourcesToRemove` drops the
 * resource with the given id or equal to the given one (a service left without resources leaves
 * the zone); tag services, admins and auditors are added and removed by name.
 */
export function applyZoneChange(zone: ZoneView, change: ZoneChangeRequest): ZoneInput {
  const v2 = presentZoneV2(zone);
  const services = v2.services;
  for (const [name, s] of Object.entries(change.resourcesToUpdate ?? {})) {
    const current = services[name] ?? { resources: [] };
    (s.resources ?? []).forEach((r, i) => {
      if (r.id === undefined || r.id === null) {
        if (!current.resources.some((c) => sameResource(c.resource, r.resource)))
          current.resources.push({ resource: r.resource });
        return;
      }
      const at = current.resources.findIndex((c) => c.id === r.id);
      if (at < 0) {
        const field = `body.resourcesToUpdate.${name}.resources[${i}].id`;
        throw fieldError(
          ValidationFailed,
          field,
          "exists",
          `zone \`${zone.name}\` has no resource ${r.id} in \`${name}\``,
        );
      }
      current.resources[at] = { id: r.id, resource: r.resource };
    });
    services[name] = current;
  }
  for (const [name, s] of Object.entries(change.resourcesToRemove ?? {})) {
    const current = services[name];
    if (!current) continue;
    const drop = s.resources ?? [];
    current.resources = current.resources.filter(
      (c) =>
        !drop.some((d) =>
          d.id !== undefined && d.id !== null
            ? d.id === c.id
            : d.resource !== undefined && sameResource(d.resource, c.resource),
        ),
    );
    if (current.resources.length === 0) delete services[name];
  }
  const without = (list: RangerPrincipal[], remove: RangerPrincipal[] | undefined) =>
    list.filter((p) => !(remove ?? []).some((r) => r.name === p.name && String(r.type).toUpperCase() === p.type));
  const admins = [...without(v2.admins, change.adminsToRemove), ...(change.adminsToAdd ?? [])];
  const auditors = [...without(v2.auditors, change.auditorsToRemove), ...(change.auditorsToAdd ?? [])];
  const removedTags = new Set(change.tagServicesToRemove ?? []);
  const tagServices = [
    ...new Set([...v2.tagServices.filter((t) => !removedTags.has(t)), ...(change.tagServicesToAdd ?? [])]),
  ];
  return zoneInputOfV2({
    name: change.name ?? zone.name,
    description: change.description ?? zone.description,
    services,
    tagServices,
    admins,
    auditors,
  });
}
