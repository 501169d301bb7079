import { sql } from "kysely";
import type { Queryable } from "../storage/db.ts";
import type { ConnectorRow } from "./connector-model.ts";
import { loadGroupStates } from "./group-state.ts";
import { type PolicyReconcileReport, reconcilePolicies } from "./policy-reconcile.ts";
import type { RangerPolicyClient } from "./ranger/ranger-policies.ts";
import { sameAttributes } from "./ranger/ranger-target.ts";
import type { ConnectorTarget, GroupState } from "./target.ts";

/** One difference between Gatehouse and the target. */
export interface Difference {
  kind: "missing" | "extra" | "members" | "attributes";
  groupId: string;
  path: string[];
  /** For `members`: usernames the target lacks and holds too many; for `attributes`: both sides. */
  detail?: Record<string, unknown>;
}

/** What a reconcile found and, without dry run, repaired. */
export interface ReconcileReport {
  dryRun: boolean;
  /** Groups Gatehouse carries to the target. */
  desired: number;
  /** Groups read from the target. */
  onTarget: number;
  counts: Record<Difference["kind"], number>;
  /** The differences, the first `REPORT_MAX`. */
  differences: Difference[];
  repaired: number;
  /** A ranger connector that maps services: the same for their policies. */
  policies?: PolicyReconcileReport;
  startedAt: string;
  finishedAt: string;
}

/** Differences listed in full in a report (all are counted). */
export const REPORT_MAX = 1000;
const LOAD_PAGE = 2000;
const REPAIR_BATCH = 1000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The target's groups this connector must remove: those carrying a Gatehouse id it does not carry,
 * when that group is gone from Gatehouse or belongs to one of the connector's organisations
 * (deselected, hidden). Groups of other organisations (another connector's) are left alone.
 */
async function extraGroups(
  db: Queryable,
  connector: ConnectorRow,
  byId: Map<string, GroupState>,
  seen: Set<string>,
): Promise<GroupState[]> {
  const candidates = [...byId.keys()].filter((id) => !seen.has(id) && UUID.test(id));
  const owner = new Map<string, string>();
  for (let at = 0; at < candidates.length; at += 5000) {
    const rows = await sql<{ id: string; org_id: string }>`
      select id, org_id from groups where id = any(${candidates.slice(at, at + 5000)}::uuid[])`.execute(db);
    for (const r of rows.rows) owner.set(r.id, r.org_id);
  }
  return candidates
    .filter((id) => {
      const org = owner.get(id);
      return org === undefined || connector.org_ids.includes(org);
    })
    .map((id) => byId.get(id) as GroupState);
}

/**
 * Compares what Gatehouse would send with what the target holds, read page by page: a carried
 * group absent from the target is `missing`; a target group this connector must remove is `extra`
 * (see extraGroups: groups without the id attribute, or of other organisations, are left alone);
 * otherwise members and attributes are compared. Without `dryRun`, missing and different
 * groups are sent again and extra ones deleted. A flat target's group without the id attribute but
 * with a carried group's name counts as that group.
 */
export async function reconcileConnector(
  db: Queryable,
  connector: ConnectorRow,
  target: ConnectorTarget,
  options: { dryRun: boolean; policies?: RangerPolicyClient | null },
): Promise<ReconcileReport> {
  const startedAt = new Date().toISOString();
  target.invalidate?.();
  const byId = new Map<string, GroupState>();
  const byName = new Map<string, GroupState>();
  let onTarget = 0;
  let cursor: string | undefined;
  do {
    const page = await target.listGroups(cursor);
    for (const g of page.groups) {
      onTarget++;
      if (g.gatehouseId) byId.set(g.gatehouseId, g);
      byName.set((g.path[g.path.length - 1] ?? "").toLowerCase(), g);
    }
    cursor = page.next;
  } while (cursor);

  const differences: Difference[] = [];
  const counts: ReconcileReport["counts"] = { missing: 0, extra: 0, members: 0, attributes: 0 };
  const note = (d: Difference) => {
    counts[d.kind]++;
    if (differences.length < REPORT_MAX) differences.push(d);
  };
  const toSend: GroupState[] = [];
  const seen = new Set<string>();
  let desired = 0;
  let afterId: string | null = null;
  for (;;) {
    const page = await loadGroupStates(db, connector, target.membership, { afterId, limit: LOAD_PAGE });
    if (page.length === 0) break;
    afterId = page[page.length - 1]?.state.gatehouseId ?? null;
    for (const { state, carried } of page) {
      if (!carried) continue;
      desired++;
      seen.add(state.gatehouseId);
      const remote =
        byId.get(state.gatehouseId) ??
        (target.membership === "effective"
          ? byName.get((state.path[state.path.length - 1] ?? "").toLowerCase())
          : undefined);
      if (!remote) {
        note({ kind: "missing", groupId: state.gatehouseId, path: state.path });
        toSend.push(state);
        continue;
      }
      if (remote.gatehouseId) seen.add(remote.gatehouseId);
      let differs = false;
      const want = new Set(state.members);
      const have = new Set(remote.members);
      const lacking = state.members.filter((u) => !have.has(u));
      const surplus = remote.members.filter((u) => !want.has(u));
      if (lacking.length > 0 || surplus.length > 0) {
        note({ kind: "members", groupId: state.gatehouseId, path: state.path, detail: { lacking, surplus } });
        differs = true;
      }
      if (!sameAttributes(remote.attributes, state.attributes)) {
        note({
          kind: "attributes",
          groupId: state.gatehouseId,
          path: state.path,
          detail: { gatehouse: state.attributes, target: remote.attributes },
        });
        differs = true;
      }
      if (differs) toSend.push(state);
    }
  }
  const extras: GroupState[] = [];
  for (const remote of await extraGroups(db, connector, byId, seen)) {
    note({ kind: "extra", groupId: remote.gatehouseId, path: remote.path });
    extras.push(remote);
  }

  let repaired = 0;
  if (!options.dryRun) {
    for (const remote of extras) {
      await target.deleteGroup({ gatehouseId: remote.gatehouseId, path: remote.path });
      await sql`delete from connector_objects where connector_id = ${connector.id}::uuid and group_id = ${remote.gatehouseId}::uuid`
        .execute(db)
        .catch(() => {});
      repaired++;
    }
    for (let at = 0; at < toSend.length; at += REPAIR_BATCH) {
      const batch = toSend.slice(at, at + REPAIR_BATCH);
      await sql`
        insert into connector_objects (connector_id, group_id, delivered_path)
        select ${connector.id}::uuid, g, p::jsonb from unnest(${batch.map((s) => s.gatehouseId)}::uuid[],
          ${batch.map((s) => JSON.stringify(s.path))}::text[]) as x(g, p)
        on conflict (connector_id, group_id) do update set delivered_path = excluded.delivered_path`.execute(db);
      if (target.upsertGroups) await target.upsertGroups(batch);
      else for (const s of batch) await target.upsertGroup(s);
      repaired += batch.length;
    }
  }
  const policies = options.policies
    ? await reconcilePolicies(db, connector, options.policies, { dryRun: options.dryRun })
    : undefined;
  const report: ReconcileReport = {
    dryRun: options.dryRun,
    desired,
    onTarget,
    counts,
    differences,
    repaired,
    ...(policies ? { policies } : {}),
    startedAt,
    finishedAt: new Date().toISOString(),
  };
  await sql`update connectors set last_reconcile_at = now(),
              last_reconcile = ${JSON.stringify({
                ...report,
                differences: report.differences.slice(0, 20),
                ...(policies ? { policies: { ...policies, differences: policies.differences.slice(0, 20) } } : {}),
              })}::jsonb
            where id = ${connector.id}::uuid`.execute(db);
  return report;
}
