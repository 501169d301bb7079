import { sql } from "kysely";
import type { Queryable } from "../storage/db.ts";
import type { ConnectorRow } from "./connector-model.ts";
import { type DesiredPolicy, desiredPolicies, type PolicyPlace, policyMapping, pushPolicy } from "./policy-delivery.ts";
import { isOwned, type RangerPolicyClient, samePolicy } from "./ranger/ranger-policies.ts";

/** One difference between a mapped service's policies in Gatehouse and on the target. */
export interface PolicyDifference {
  kind: "missing" | "extra" | "different";
  /** The Gatehouse policy (absent for `extra`). */
  policyId?: number;
  service: string;
  name: string;
  zone: string;
}

/** What a policy reconcile found and, without dry run, repaired. */
export interface PolicyReconcileReport {
  /** Policies Gatehouse pushes (of the mapped services). */
  desired: number;
  /** Policies read from the mapped Ranger services (owned or not). */
  onTarget: number;
  counts: Record<PolicyDifference["kind"], number>;
  /** The first `REPORT_MAX` differences (all are counted). */
  differences: PolicyDifference[];
  repaired: number;
}

const REPORT_MAX = 1000;
const keyOf = (p: { service: string; name: string; zone: string }) => `${p.service}\u0000${p.zone}\u0000${p.name}`;

/**
 * Compares, for each mapped service, Gatehouse's policies with the Ranger service's: a Gatehouse
 * policy absent from the target is `missing`; one whose body differs (or that lacks the owner
 * label) is `different`; a target policy carrying the owner label that Gatehouse does not push is
 * `extra`. Target policies without the label and no Gatehouse namesake are not Gatehouse's and are
 * left alone. Without `dryRun`, extra policies are deleted, missing and different ones pushed
 * again, and the connector's dead-lettered policies retried (their queued rows then find the
 * target right).
 */
export async function reconcilePolicies(
  db: Queryable,
  connector: ConnectorRow,
  client: RangerPolicyClient,
  options: { dryRun: boolean },
): Promise<PolicyReconcileReport> {
  const report: PolicyReconcileReport = {
    desired: 0,
    onTarget: 0,
    counts: { missing: 0, extra: 0, different: 0 },
    differences: [],
    repaired: 0,
  };
  const note = (d: PolicyDifference) => {
    report.counts[d.kind]++;
    if (report.differences.length < REPORT_MAX) report.differences.push(d);
  };
  const toPush: DesiredPolicy[] = [];
  const extras: PolicyPlace[] = [];
  for (const [gatehouseService, rangerService] of Object.entries(policyMapping(connector))) {
    const desired = await desiredPolicies(db, gatehouseService, rangerService);
    const remote = await client.list(rangerService);
    report.desired += desired.length;
    report.onTarget += remote.length;
    const remoteByKey = new Map(
      remote.map((r) => [keyOf({ service: rangerService, name: String(r.name), zone: String(r.zoneName ?? "") }), r]),
    );
    const wanted = new Set<string>();
    for (const d of desired) {
      const key = keyOf(d.place);
      wanted.add(key);
      const r = remoteByKey.get(key);
      if (!r) note({ kind: "missing", policyId: d.policyId, ...d.place });
      else if (samePolicy(r, d.body)) continue;
      else note({ kind: "different", policyId: d.policyId, ...d.place });
      toPush.push(d);
    }
    for (const r of remote) {
      const place = { service: rangerService, name: String(r.name), zone: String(r.zoneName ?? "") };
      if (isOwned(r) && !wanted.has(keyOf(place))) {
        note({ kind: "extra", ...place });
        extras.push(place);
      }
    }
  }
  if (!options.dryRun) {
    for (const place of extras) {
      await client.remove(place.service, place.name, place.zone);
      report.repaired++;
    }
    for (const d of toPush) {
      await pushPolicy(client, d, []);
      await sql`
        insert into connector_policies (connector_id, policy_id, delivered_service, delivered_name, delivered_zone, delivered_at)
        values (${connector.id}::uuid, ${d.policyId}, ${d.place.service}, ${d.place.name}, ${d.place.zone}, now())
        on conflict (connector_id, policy_id) do update set delivered_service = excluded.delivered_service,
          delivered_name = excluded.delivered_name, delivered_zone = excluded.delivered_zone, delivered_at = now(),
          attempts = 0, next_attempt_at = null, last_error = null, last_status = null, dead_at = null`.execute(db);
      report.repaired++;
    }
    // the target now matches: parked policies are retried (their queued rows find it right)
    await sql`update connector_policies set dead_at = null, attempts = 0, next_attempt_at = null
              where connector_id = ${connector.id}::uuid and dead_at is not null`.execute(db);
  }
  return report;
}
