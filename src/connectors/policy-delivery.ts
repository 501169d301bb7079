import { sql } from "kysely";
import type { RangerPolicy } from "../engine/types.ts";
import { present } from "../policies/policies.service.ts";
import { listPolicies } from "../policies/policies.store.ts";
import { findServiceWithDef } from "../service-defs/service-defs.store.ts";
import type { Queryable } from "../storage/db.ts";
import type { ConnectorRow } from "./connector-model.ts";
import { backoffMs, type DeliveryLog, describeFailure, type RetryPolicy, type RoundResult } from "./delivery.ts";
import { policyForTarget, type RangerPolicyClient, samePolicy } from "./ranger/ranger-policies.ts";
import { TargetError } from "./target.ts";

/** Where a policy sits on the target: Ranger service, name and zone (`""`: none). */
export interface PolicyPlace {
  service: string;
  name: string;
  zone: string;
}

/** A Gatehouse policy as a connector pushes it: where, and the body sent. */
export interface DesiredPolicy {
  policyId: number;
  place: PolicyPlace;
  body: RangerPolicy;
}

/** Policies delivered per round. */
const POLICY_ROUND = 200;
const PAGE = 1000;

const keyOf = (p: PolicyPlace) => `${p.service}\u0000${p.zone}\u0000${p.name}`;

/** The connector's service mapping (Gatehouse service → Ranger service); empty when it pushes no policies. */
export function policyMapping(connector: Pick<ConnectorRow, "kind" | "config">): Record<string, string> {
  return connector.kind === "ranger" ? (connector.config.policies?.services ?? {}) : {};
}

/**
 * The current state of policies of one Gatehouse service as the connector pushes them: Gatehouse's
 * own Ranger presentation (`present`, as `/service/public/v2/api` shows them) mapped to the Ranger
 * service. `ids` narrows to those policies; without it, every policy of the service, paged.
 */
export async function desiredPolicies(
  db: Queryable,
  gatehouseService: string,
  rangerService: string,
  ids?: number[],
): Promise<DesiredPolicy[]> {
  const target = await findServiceWithDef(db, gatehouseService);
  if (!target) return [];
  const out: DesiredPolicy[] = [];
  let afterId: number | null = null;
  for (;;) {
    const page = await listPolicies(db, target.service.id, ids ? { ids } : {}, PAGE, afterId);
    for (const record of page) {
      out.push({
        policyId: record.id,
        place: { service: rangerService, name: record.name, zone: record.zoneName },
        body: policyForTarget(present(record, target), rangerService),
      });
    }
    if (page.length < PAGE) return out;
    afterId = page[page.length - 1]?.id ?? null;
  }
}

/**
 * Puts `desired` on the target, idempotently: the policy found under its name is replaced (and
 * left alone when it already says the same, so a replay changes nothing, not even its version);
 * else one found under an earlier name (`stale`) is renamed in place, so the target never lacks
 * the policy in between (a deny policy briefly gone would open access); else it is created. The
 * other earlier names are deleted. Only a replace that collides with another policy (a swap of
 * names or resources between two Gatehouse policies) falls back to delete and create. Returns
 * whether the target was written.
 */
export async function pushPolicy(
  client: RangerPolicyClient,
  desired: DesiredPolicy,
  stale: PolicyPlace[],
): Promise<boolean> {
  const { place, body } = desired;
  let remote = await client.find(place.service, place.name, place.zone);
  let renamedFrom: PolicyPlace | undefined;
  if (!remote) {
    for (const old of stale) {
      remote = await client.find(old.service, old.name, old.zone);
      if (remote) {
        renamedFrom = old;
        break;
      }
    }
  }
  let wrote = false;
  if (!remote) {
    await client.create(body);
    wrote = true;
  } else if (renamedFrom || !samePolicy(remote, body)) {
    try {
      await client.replace(Number(remote.id), body);
    } catch (err) {
      if (!isConflict(err)) throw err;
      // Another policy holds these resources or this name: two Gatehouse policies swapped them
      // (in one round, or while the target was down), and each replace collides with the other's
      // old state. The policy under our name is Gatehouse's to overwrite: deleting it lets the
      // other's replace pass; this create then passes at its next attempt.
      await client.remove(remote.service ?? place.service, String(remote.name), String(remote.zoneName ?? ""));
      await client.create(body);
    }
    wrote = true;
  }
  for (const old of stale) {
    if (old !== renamedFrom) await client.remove(old.service, old.name, old.zone);
  }
  return wrote;
}

/** Ranger's "already exists" (a name or a resource set taken): 400 with that text; Gatehouse answers 409. */
function isConflict(err: unknown): boolean {
  return (
    err instanceof TargetError &&
    (err.status === 409 || (err.status === 400 && /already exists|duplicate/i.test(err.message)))
  );
}

interface Pending {
  policy_id: number;
  seqs: string[];
  places: { service: string; name: string; zone: string }[];
  delivered_service: string | null;
  delivered_name: string | null;
  delivered_zone: string | null;
  attempts: number | null;
}

/**
 * Earlier places of a policy the target may still hold (queued names, the last delivered one),
 * without its current place and without any place another current Gatehouse policy now holds (a
 * swap of names: that policy's own delivery writes it).
 */
async function stalePlaces(
  db: Queryable,
  mapping: Record<string, string>,
  p: Pending,
  current: PolicyPlace | undefined,
): Promise<PolicyPlace[]> {
  const places = new Map<string, PolicyPlace>();
  for (const q of p.places) {
    const service = mapping[q.service];
    if (service) places.set(keyOf({ service, name: q.name, zone: q.zone }), { service, name: q.name, zone: q.zone });
  }
  if (p.delivered_service && p.delivered_name !== null) {
    const last = { service: p.delivered_service, name: p.delivered_name, zone: p.delivered_zone ?? "" };
    places.set(keyOf(last), last);
  }
  if (current) places.delete(keyOf(current));
  if (places.size === 0) return [];
  const held = await sql<{ service: string; name: string; zone: string }>`
    select s.name as service, p.name, p.zone_name as zone from policies p join services s on s.id = p.service_id
    where p.id <> ${p.policy_id} and p.name = any(${[...places.values()].map((x) => x.name)}::text[])`.execute(db);
  for (const h of held.rows) {
    const service = mapping[h.service];
    if (service) places.delete(keyOf({ service, name: h.name, zone: h.zone }));
  }
  return [...places.values()];
}

/**
 * One policy delivery round of a ranger connector that maps services (see deliverRound for the
 * groups): reads up to 200 policies with queued changes (not waiting for a retry, not
 * dead-lettered, oldest change first), loads each one's CURRENT state and pushes it, or deletes
 * it from the target when it is gone. A policy's queued rows are removed only after its state
 * reached the target, and only the rows read before the state was loaded.
 */
export async function deliverPolicyRound(
  db: Queryable,
  connector: ConnectorRow,
  client: RangerPolicyClient,
  policy: RetryPolicy,
  log: DeliveryLog,
): Promise<RoundResult> {
  const result: RoundResult = { delivered: 0, failed: 0, dead: 0 };
  const mapping = policyMapping(connector);
  const pending = (
    await sql<Pending>`
      select o.policy_id, array_agg(o.seq) as seqs,
        jsonb_agg(distinct jsonb_build_object('service', o.service_name, 'name', o.policy_name, 'zone', o.zone_name)) as places,
        min(s.delivered_service) as delivered_service, min(s.delivered_name) as delivered_name,
        min(s.delivered_zone) as delivered_zone, min(s.attempts) as attempts
      from connector_policy_outbox o
      left join connector_policies s on s.connector_id = o.connector_id and s.policy_id = o.policy_id
      where o.connector_id = ${connector.id}::uuid and s.dead_at is null
        and (s.next_attempt_at is null or s.next_attempt_at <= now())
      group by o.policy_id order by min(o.seq) limit ${POLICY_ROUND}`.execute(db)
  ).rows;
  if (pending.length === 0) return result;

  // the current state of each, by its Gatehouse service
  const ids = pending.map((p) => p.policy_id);
  const services = (
    await sql<{ service: string }>`
      select distinct s.name as service from policies p join services s on s.id = p.service_id
      where p.id = any(${ids}::int[])`.execute(db)
  ).rows;
  const desired = new Map<number, DesiredPolicy>();
  for (const { service } of services) {
    const rangerService = mapping[service];
    if (!rangerService) continue;
    for (const d of await desiredPolicies(db, service, rangerService, ids)) desired.set(d.policyId, d);
  }

  for (const p of pending) {
    const want = desired.get(p.policy_id);
    try {
      const stale = await stalePlaces(db, mapping, p, want?.place);
      if (want) {
        await pushPolicy(client, want, stale);
        await sql`
          insert into connector_policies (connector_id, policy_id, delivered_service, delivered_name, delivered_zone, delivered_at)
          values (${connector.id}::uuid, ${p.policy_id}, ${want.place.service}, ${want.place.name}, ${want.place.zone}, now())
          on conflict (connector_id, policy_id) do update set delivered_service = excluded.delivered_service,
            delivered_name = excluded.delivered_name, delivered_zone = excluded.delivered_zone,
            delivered_at = now(), attempts = 0, next_attempt_at = null, last_error = null, last_status = null`.execute(
          db,
        );
      } else {
        for (const old of stale) await client.remove(old.service, old.name, old.zone);
        await sql`delete from connector_policies where connector_id = ${connector.id}::uuid and policy_id = ${p.policy_id}`.execute(
          db,
        );
      }
      await sql`delete from connector_policy_outbox where seq = any(${p.seqs.map(Number)}::bigint[])`.execute(db);
      result.delivered++;
      log.info(
        { connector: connector.name, policy: p.policy_id, place: want?.place ?? null },
        want ? "connector: policy delivered" : "connector: policy deleted on target",
      );
    } catch (err) {
      const attempts = (p.attempts ?? 0) + 1;
      const { text, status, retryable } = describeFailure(err, connector.kind);
      const dead = attempts >= (connector.config.maxAttempts ?? policy.maxAttempts);
      const delay = backoffMs(attempts, { ...policy, maxDelayMs: connector.config.retryMaxMs ?? policy.maxDelayMs });
      await sql`
        insert into connector_policies (connector_id, policy_id, attempts, next_attempt_at, last_error, last_status, dead_at)
        values (${connector.id}::uuid, ${p.policy_id}, ${attempts}, now() + make_interval(secs => ${delay / 1000}),
                ${text}, ${status}, ${dead ? sql`now()` : sql`null`})
        on conflict (connector_id, policy_id) do update set attempts = excluded.attempts,
          next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error,
          last_status = excluded.last_status, dead_at = excluded.dead_at`.execute(db);
      await sql`update connectors set last_error = ${text}, last_error_at = now() where id = ${connector.id}::uuid`.execute(
        db,
      );
      result.failed++;
      if (dead) result.dead++;
      log.warn(
        { connector: connector.name, policy: p.policy_id, attempts, retryable, dead, error: text },
        dead ? "connector: policy delivery dead-lettered" : "connector: policy delivery failed",
      );
      // a target that cannot be reached fails the rest of the round alike: try again later
      if (status === null) break;
    }
  }
  if (result.delivered > 0) {
    await sql`update connectors set last_success_at = now() where id = ${connector.id}::uuid`.execute(db);
  }
  return result;
}
