import type { AuditContext } from "../audit/audit.service.ts";
import type { RangerPolicy } from "../engine/types.ts";
import { PolicyNotFound, PolicyVersionNotFound } from "../errors.ts";
import type { ServiceWithDef } from "../service-defs/service-defs.store.ts";
import type { Queryable, Tx } from "../storage/db.ts";
import { applyOne, canonicalJson } from "./policies.service.ts";
import { getPolicyRecord } from "./policies.store.ts";

/** One entry of a policy's history. */
export interface PolicyVersionInfo {
  version: number;
  changeType: "create" | "update";
  changedBy: string | null;
  changedAt: string;
  current: boolean;
}

/** One difference between two versions, at a JSON path such as `policyItems[0].users`. */
export interface PolicyChange {
  path: string;
  op: "added" | "removed" | "changed";
  before?: unknown;
  after?: unknown;
}

/** Lists every version of a policy, newest first; the current one is marked. */
export async function listVersions(db: Queryable, policyId: number): Promise<PolicyVersionInfo[]> {
  const current = await getPolicyRecord(db, policyId);
  const rows = await db
    .selectFrom("policy_versions")
    .select(["version", "change_type", "changed_by", "changed_at"])
    .where("policy_id", "=", policyId)
    .orderBy("version", "desc")
    .execute();
  if (rows.length === 0 && !current) throw PolicyNotFound(`policy ${policyId} not found`);
  return rows.map((r) => ({
    version: r.version,
    changeType: r.change_type === 0 ? "create" : "update",
    changedBy: r.changed_by,
    changedAt: r.changed_at.toISOString(),
    current: current?.version === r.version,
  }));
}

/** The body of one version (normalised Ranger JSON, without server-owned fields). */
export async function getVersion(db: Queryable, policyId: number, version: number): Promise<RangerPolicy> {
  const row = await db
    .selectFrom("policy_versions")
    .select("body")
    .where("policy_id", "=", policyId)
    .where("version", "=", version)
    .executeTakeFirst();
  if (!row) throw PolicyVersionNotFound(`policy ${policyId} has no version ${version}`);
  return row.body as RangerPolicy;
}

/** Structural diff of two JSON values; arrays are compared by position. */
export function diffJson(before: unknown, after: unknown, path = ""): PolicyChange[] {
  if (canonicalJson(before) === canonicalJson(after)) return [];
  const isObj = (v: unknown) => v !== null && typeof v === "object";
  if (isObj(before) && isObj(after) && Array.isArray(before) === Array.isArray(after)) {
    const out: PolicyChange[] = [];
    if (Array.isArray(before) && Array.isArray(after)) {
      for (let i = 0; i < Math.max(before.length, after.length); i++) {
        const p = `${path}[${i}]`;
        if (i >= before.length) out.push({ path: p, op: "added", after: after[i] });
        else if (i >= after.length) out.push({ path: p, op: "removed", before: before[i] });
        else out.push(...diffJson(before[i], after[i], p));
      }
      return out;
    }
    const b = before as Record<string, unknown>;
    const a = after as Record<string, unknown>;
    for (const key of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort()) {
      const p = path ? `${path}.${key}` : key;
      if (!(key in a)) out.push({ path: p, op: "removed", before: b[key] });
      else if (!(key in b)) out.push({ path: p, op: "added", after: a[key] });
      else out.push(...diffJson(b[key], a[key], p));
    }
    return out;
  }
  return [{ path: path || "$", op: "changed", before, after }];
}

/** Differences from version `version` to the current policy. */
export async function diffWithCurrent(
  db: Queryable,
  policyId: number,
  version: number,
): Promise<{ from: number; to: number; changes: PolicyChange[] }> {
  const current = await getPolicyRecord(db, policyId);
  if (!current) throw PolicyNotFound(`policy ${policyId} not found`);
  const old = await getVersion(db, policyId, version);
  return { from: version, to: current.version, changes: diffJson(old, current.body) };
}

/**
 * Restores an earlier version as a new version (history is never rewritten). Goes through the
 * normal update path, so the old body is validated against today's service-def and signatures.
 */
export async function revertPolicy(
  tx: Tx,
  ctx: AuditContext,
  target: ServiceWithDef,
  policyId: number,
  version: number,
): Promise<RangerPolicy> {
  const body = await getVersion(tx, policyId, version);
  const outcome = await applyOne(tx, ctx, target, { policy: body, mode: "update", id: policyId });
  return outcome.policy;
}
