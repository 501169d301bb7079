import {
  applyServiceTagsDelta,
  type EngineInput,
  HeldServiceTags,
  type RangerPolicy,
  type RangerPolicyDelta,
  type RangerRoles,
  type SecurityZoneInfo,
  type ServicePolicies,
  type ServiceTags,
  type TagPolicies,
} from "../engine/index.ts";
import { splitPoliciesByZone } from "../zones/zone-policies.ts";

/**
 * What a policy client holds besides its engine: the documents its engine was built or updated
 * from, kept so that a rebuild can start from them, and whose versions the next poll asks with.
 * The client replaces them as a whole only once its engine reflects the replacement, so the
 * versions it asks with are always those its engine serves.
 */
export interface ClientDocuments {
  /** The last policy download's header (service-def, config, version); its lists are not kept. */
  servicePolicies: ServicePolicies | null;
  /** Resource policies by id, the zones' included (each carries its `zoneName`). */
  policies: Map<number, RangerPolicy>;
  /** The service's security zones (resources, tag-service flag), without their policies. */
  zones: Record<string, SecurityZoneInfo>;
  /** The linked tag service's header (def, config) without its policies; null when none. */
  tagPolicies: TagPolicies | null;
  /** The linked tag service's policies by id. */
  tagPolicyMap: Map<number, RangerPolicy>;
  /** The resource-tag document, kept current by the tag deltas taken; null before the first. */
  serviceTags: HeldServiceTags | null;
  roles: RangerRoles | null;
}

/** What one poll downloaded; null where the server answered 304 (nothing newer). */
export interface Downloads {
  roles: RangerRoles | null;
  policies: ServicePolicies | null;
  tags: ServiceTags | null;
}

/** The documents of a client that has downloaded nothing yet (every version -1). */
export function noDocuments(): ClientDocuments {
  return {
    servicePolicies: null,
    policies: new Map(),
    zones: {},
    tagPolicies: null,
    tagPolicyMap: new Map(),
    serviceTags: null,
    roles: null,
  };
}

/** The headers (everything but the policy maps and tags) `held` gets from `d`: small objects, no copies of lists. */
export function headersAfter(
  held: ClientDocuments,
  d: Downloads,
): Pick<ClientDocuments, "servicePolicies" | "zones" | "tagPolicies" | "roles"> {
  const sp = d.policies;
  const roles = d.roles ?? held.roles;
  if (!sp) return { servicePolicies: held.servicePolicies, zones: held.zones, tagPolicies: held.tagPolicies, roles };
  const tagHeader = sp.tagPolicies ? { ...sp.tagPolicies, policies: undefined } : null;
  return {
    // a delta answer changes the held header's version only; a full answer replaces it
    servicePolicies:
      sp.policyDeltas && held.servicePolicies ? { ...held.servicePolicies, policyVersion: sp.policyVersion } : sp,
    zones: zoneHeaders(sp.securityZones ?? {}),
    // a delta answer without `tagPolicies` leaves the tag service as it was
    tagPolicies: sp.policyDeltas ? (tagHeader ?? held.tagPolicies) : tagHeader,
    roles,
  };
}

/**
 * The documents `held` becomes with `d` taken, as new objects: `held` is left exactly as it was
 * (a policy map that deltas change is copied first, a tag delta is applied to a copy), so a client
 * whose engine then refuses them still holds what it had. Cost: O(size of the changed documents),
 * what a rebuild from them costs anyway.
 */
export function documentsAfter(held: ClientDocuments, d: Downloads): ClientDocuments {
  const sp = d.policies;
  let policies = held.policies;
  let tagPolicyMap = held.tagPolicyMap;
  if (sp?.policyDeltas) {
    policies = new Map(policies);
    tagPolicyMap = new Map(tagPolicyMap);
    trackDeltas({ policies, tagPolicyMap, tagPolicies: held.tagPolicies }, allDeltas(sp));
  } else if (sp) {
    const zoned = Object.values(sp.securityZones ?? {}).flatMap((z) => z.policies ?? []);
    policies = new Map([...(sp.policies ?? []), ...zoned].map((p) => [p.id as number, p]));
    tagPolicyMap = new Map((sp.tagPolicies?.policies ?? []).map((p) => [p.id as number, p]));
  }
  let serviceTags = held.serviceTags;
  if (d.tags) {
    const previous = held.serviceTags?.document;
    serviceTags = new HeldServiceTags(previous ? applyServiceTagsDelta(previous, d.tags) : d.tags);
  }
  return { ...headersAfter(held, d), policies, tagPolicyMap, serviceTags };
}

/**
 * Applies policy deltas to the policy maps in place, tag policies apart (by the tag service-def's
 * name, as the engine routes them), so a later rebuild starts from the current lists. O(deltas).
 */
export function trackDeltas(
  docs: Pick<ClientDocuments, "policies" | "tagPolicyMap" | "tagPolicies">,
  deltas: readonly RangerPolicyDelta[],
): void {
  const tagType = docs.tagPolicies?.serviceDef?.name;
  for (const d of deltas) {
    if (d.policy.id === undefined) continue;
    const list = tagType && d.policy.serviceType === tagType ? docs.tagPolicyMap : docs.policies;
    if (d.changeType === 2) list.delete(d.policy.id);
    else list.set(d.policy.id, d.policy);
  }
}

/** Whether a delta moves a resource policy between zones (the engine would keep the old copy). */
export function movesZone(held: ClientDocuments, deltas: readonly RangerPolicyDelta[]): boolean {
  const tagType = held.tagPolicies?.serviceDef?.name;
  return deltas.some(
    (d) =>
      d.changeType === 1 &&
      d.policy.id !== undefined &&
      !(tagType && d.policy.serviceType === tagType) &&
      (held.policies.get(d.policy.id)?.zoneName ?? "") !== (d.policy.zoneName ?? ""),
  );
}

/** The engine input the documents describe (what a fresh download of the same versions builds). */
export function engineInputOf(docs: ClientDocuments): EngineInput {
  const sp = docs.servicePolicies;
  if (!sp?.serviceDef) throw new Error("policy download carried no service definition");
  const split = splitPoliciesByZone([...docs.policies.values()], docs.zones);
  const tagPolicies = docs.tagPolicies;
  return {
    serviceName: sp.serviceName,
    serviceDef: sp.serviceDef,
    policies: split.policies,
    securityZones: split.securityZones,
    roles: docs.roles?.rangerRoles ?? [],
    serviceConfig: { raw: sp.serviceConfig ?? {} },
    policyVersion: sp.policyVersion,
    ...(tagPolicies?.serviceDef
      ? {
          tagPolicies: {
            serviceName: tagPolicies.serviceName,
            serviceDef: tagPolicies.serviceDef,
            policies: [...docs.tagPolicyMap.values()],
            serviceConfig: tagPolicies.serviceConfig ?? {},
          },
        }
      : {}),
    ...(docs.serviceTags ? { serviceTags: docs.serviceTags.document } : {}),
  };
}

/** The top-level deltas followed by every zone's (`securityZones[zone].policyDeltas`). */
export function allDeltas(sp: ServicePolicies): RangerPolicyDelta[] {
  return [...(sp.policyDeltas ?? []), ...Object.values(sp.securityZones ?? {}).flatMap((z) => z.policyDeltas ?? [])];
}

/** Zones without their policies or deltas: what the client keeps to rebuild. */
export function zoneHeaders(zones: Record<string, SecurityZoneInfo>): Record<string, SecurityZoneInfo> {
  const out: Record<string, SecurityZoneInfo> = {};
  for (const [name, z] of Object.entries(zones)) {
    out[name] = {
      zoneName: z.zoneName ?? name,
      resources: z.resources ?? [],
      containsAssociatedTagService: z.containsAssociatedTagService === true,
    };
  }
  return out;
}

/** Whether two zone sets have the same names, resources and tag-service flags. */
export function sameZones(held: Record<string, SecurityZoneInfo>, sent: Record<string, SecurityZoneInfo>): boolean {
  return JSON.stringify(zoneHeaders(held)) === JSON.stringify(zoneHeaders(sent));
}
