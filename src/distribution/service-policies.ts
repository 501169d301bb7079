import { readDeltas, readServiceSnapshot, readServiceState } from "../decisions/engine-source.ts";
import type { RangerPolicyDelta, ServicePolicies } from "../engine/index.ts";
import { ServiceNotFound } from "../errors.ts";
import type { Db } from "../storage/db.ts";

/** What a policy download answers: 304 (nothing newer) or Ranger's `ServicePolicies`. */
export type PolicyDownload =
  | { status: 304; serviceId: number; version: number }
  | { status: 200; serviceId: number; version: number; body: ServicePolicies };

/**
 * Ranger's `getServicePoliciesIfUpdated`: 304 when the plugin's `lastKnownVersion` is current;
 * the deltas since that version when the plugin supports deltas and the change log holds every
 * one of them (`policyDeltas`, `policies` null, as Ranger sends them); otherwise the full set of
 * policies with the service-def and service config. Gatehouse has no security zones and keeps
 * no tag service, so `securityZones` is empty and `tagPolicies` null.
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
      return {
        status: 200,
        serviceId: state.id,
        version: state.policyVersion,
        body: envelope(state, { ...(def.def as object), id: def.id }, null, deltas),
      };
    }
  }
  const snapshot = await readServiceSnapshot(db, serviceName);
  if (!snapshot) throw ServiceNotFound(`service \`${serviceName}\` not found`);
  return {
    status: 200,
    serviceId: snapshot.service.id,
    version: snapshot.service.policyVersion,
    body: envelope(snapshot.service, snapshot.def, snapshot.policies, null),
  };
}

function envelope(
  service: {
    id: number;
    name: string;
    policyVersion: number;
    policyUpdateTime: Date | null;
    configs: Record<string, string>;
  },
  def: object,
  policies: ServicePolicies["policies"] | null,
  deltas: RangerPolicyDelta[] | null,
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
    tagPolicies: undefined,
    securityZones: {},
    serviceConfig: service.configs,
  };
}
