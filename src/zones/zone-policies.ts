import type { RangerPolicy, RangerPolicyDelta, SecurityZoneInfo } from "../engine/index.ts";

/**
 * Ranger's `getUpdatedServicePoliciesForZones` for full policy sets: each zone's policies move
 * from the top-level list into `securityZones[zone].policies`; the top level keeps the policies of
 * the default zone. Every zone of the service is present, with or without policies (a request in
 * a zone without policies is decided by nothing and so denied, as in Ranger). Unlike Ranger, which
 * moves only enabled policies and leaves disabled zone policies in the top-level list (where they
 * never apply), disabled zone policies go with their zone too, so a client can rebuild each list
 * from its own policies. A policy naming a zone the service is not in (possible only for rows
 * written before migration 0007, which introduced the zone check) is left out: a zone policy
 * applies only inside its zone, and that zone claims nothing of the service.
 */
export function splitPoliciesByZone(
  policies: readonly RangerPolicy[],
  zones: Record<string, SecurityZoneInfo>,
): { policies: RangerPolicy[]; securityZones: Record<string, SecurityZoneInfo> } {
  const securityZones: Record<string, SecurityZoneInfo> = {};
  for (const [name, info] of Object.entries(zones)) securityZones[name] = { ...info, policies: [] };
  const top: RangerPolicy[] = [];
  for (const p of policies) {
    if (!p.zoneName) top.push(p);
    else securityZones[p.zoneName]?.policies?.push(p);
  }
  return { policies: top, securityZones };
}

/**
 * The same split for deltas (Ranger's `extractZonePolicyDeltas`): each zone's deltas go to
 * `securityZones[zone].policyDeltas`, the others stay top-level.
 */
export function splitDeltasByZone(
  deltas: readonly RangerPolicyDelta[],
  zones: Record<string, SecurityZoneInfo>,
): { policyDeltas: RangerPolicyDelta[]; securityZones: Record<string, SecurityZoneInfo> } {
  const securityZones: Record<string, SecurityZoneInfo> = {};
  for (const [name, info] of Object.entries(zones)) securityZones[name] = { ...info, policyDeltas: [] };
  const top: RangerPolicyDelta[] = [];
  for (const d of deltas) {
    const zone = d.policy?.zoneName ? securityZones[d.policy.zoneName] : undefined;
    if (zone) zone.policyDeltas?.push(d);
    else top.push(d);
  }
  return { policyDeltas: top, securityZones };
}
