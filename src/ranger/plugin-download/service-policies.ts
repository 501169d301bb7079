import {
  isTagPolicyDelta,
  readDeltas,
  readServiceSnapshot,
  readServiceState,
  readTagPolicies,
  type ServiceState,
  type TagPolicySnapshot,
} from "../../decisions/engine-source.ts";
import type { RangerPolicyDelta, SecurityZoneInfo, ServicePolicies, TagPolicies } from "../../engine/index.ts";
import { ServiceNotFound } from "../../errors.ts";
import type { Db } from "../../storage/db.ts";
import { splitDeltasByZone, splitPoliciesByZone } from "../../zones/zone-policies.ts";
import { securityZonesOf } from "../../zones/zones.store.ts";

/** What a policy download answers: 304 (nothing newer) or Ranger's `ServicePolicies`. */
export type PolicyDownload =
  | { status: 304; serviceId: number; version: number }
  | { status: 200; serviceId: number; version: number; body: ServicePolicies };

/**
 * Ranger's `getServicePoliciesIfUpdated`: 304 when the plugin's `lastKnownVersion` is current;
 * the deltas since that version when the plugin supports deltas and the change log holds every
 * one of them (`policyDeltas`, `policies` null, as Ranger sends them); otherwise the full set of
 * policies with the service-def and service config. `tagPolicies` carries the linked tag
 * service's def, config and policies (in a delta answer its policies are absent: tag policy
 * changes are among the `policyDeltas`, with the tag service-def's `serviceType`, as Ranger sends
 * them); it is absent when no tag service is linked or the linked one is disabled.
 * `securityZones` holds every zone of the service, in Ranger's form: its resources in the service,
 * `containsAssociatedTagService`, and its policies (full answers) or policy deltas (delta
 * answers), which are then absent from the top-level `policies` / `policyDeltas`. A zone change
 * bumps the version without a delta, so it always reaches plugins as a full answer.
 */
export async function downloadPolicies(
  db: Db,
  serviceName: string,
  lastKnownVersion: number,
  supportsDeltas: boolean,
): Promise<PolicyDownload> {
  const state = await readServiceState(db.kysely, serviceName);
  if (!state) throw ServiceNotFound(`service \`${serviceName}\` not found`);
  if (lastKnownVersion === state.policyVersion)
    return { status: 304, serviceId: state.id, version: state.policyVersion };
  if (supportsDeltas && lastKnownVersion >= 0 && lastKnownVersion < state.policyVersion) {
    const deltas = await readDeltas(db.kysely, state.id, lastKnownVersion, state.policyVersion);
    if (deltas && deltas.length > 0) {
      const def = await db.kysely
        .selectFrom("service_defs")
        .select(["id", "def"])
        .where("name", "=", state.type)
        .executeTakeFirstOrThrow();
      const tag = state.tagService?.isEnabled ? await readTagPolicies(db.kysely, state, false) : null;
      // A disabled tag service contributes nothing: its policy changes are not the plugin's business.
      const served = state.tagService?.isEnabled
        ? deltas
        : deltas.filter((d) => !isTagPolicyDelta(d, state.tagService?.type ?? null));
      const zones = splitDeltasByZone(served, await securityZonesOf(db.kysely, state.id, state.tagService?.id ?? null));
      return {
        status: 200,
        serviceId: state.id,
        version: state.policyVersion,
        body: envelope(
          state,
          { ...(def.def as object), id: def.id },
          null,
          zones.policyDeltas,
          tagPolicies(tag, false),
          zones.securityZones,
        ),
      };
    }
  }
  const snapshot = await readServiceSnapshot(db, serviceName);
  if (!snapshot) throw ServiceNotFound(`service \`${serviceName}\` not found`);
  const split = splitPoliciesByZone(snapshot.policies, snapshot.zones);
  return {
    status: 200,
    serviceId: snapshot.service.id,
    version: snapshot.service.policyVersion,
    body: envelope(
      snapshot.service,
      snapshot.def,
      split.policies,
      null,
      tagPolicies(snapshot.tag?.service.isEnabled ? snapshot.tag : null, true),
      split.securityZones,
    ),
  };
}

/** Ranger's `ServicePolicies.TagPolicies` of an enabled linked tag service (policies only in full answers). */
function tagPolicies(tag: TagPolicySnapshot | null, withPolicies: boolean): TagPolicies | undefined {
  if (!tag) return undefined;
  return {
    serviceName: tag.service.name,
    serviceId: tag.service.id,
    policyVersion: tag.service.policyVersion,
    policyUpdateTime: tag.service.policyUpdateTime?.getTime() ?? null,
    auditMode: "audit-default",
    serviceDef: tag.def,
    ...(withPolicies ? { policies: tag.policies } : {}),
    serviceConfig: tag.service.configs,
  } as TagPolicies;
}

function envelope(
  service: Pick<ServiceState, "id" | "name" | "policyVersion" | "policyUpdateTime" | "configs">,
  def: object,
  policies: ServicePolicies["policies"] | null,
  deltas: RangerPolicyDelta[] | null,
  tag: TagPolicies | undefined,
  securityZones: Record<string, SecurityZoneInfo>,
): ServicePolicies {
  return {
    serviceName: service.name,
    serviceId: service.id,
    policyVersion: service.policyVersion,
    policyUpdateTime: service.policyUpdateTime?.getTime() ?? null,
    auditMode: "audit-default",
    serviceDef: def as ServicePolicies["serviceDef"],
    policies: policies ?? undefined,
    policyDeltas: deltas ?? undefined,
    tagPolicies: tag,
    securityZones,
    serviceConfig: service.configs,
  };
}
