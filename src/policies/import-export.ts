import { hostname } from "node:os";
import type { AuditContext } from "../audit/audit.service.ts";
import type { RangerPolicy } from "../engine/types.ts";
import type { ServiceWithDef } from "../service-defs/service-defs.store.ts";
import type { Queryable, Tx } from "../storage/db.ts";
import { VERSION } from "../version.ts";
import { applyChanges, deletePolicy, present } from "./policies.service.ts";
import { listPolicies } from "./policies.store.ts";

/** Ranger's policy export file (`RangerExportPolicyList`): paging fields, metadata, policies. */
export interface PolicyExport {
  metaDataInfo: Record<string, string>;
  policies: RangerPolicy[];
  startIndex: number;
  pageSize: number;
  totalCount: number;
  resultSize: number;
  queryTimeMS: number;
}

/** Exports every policy of a service in Ranger's export format, in id order. */
export async function exportPolicies(db: Queryable, target: ServiceWithDef, exportedBy: string): Promise<PolicyExport> {
  const started = Date.now();
  const policies: RangerPolicy[] = [];
  let after: number | null = null;
  for (;;) {
    const page = await listPolicies(db, target.service.id, {}, 1000, after);
    for (const r of page) policies.push(present(r, target));
    if (page.length < 1000) break;
    after = page[page.length - 1]?.id ?? null;
  }
  return {
    metaDataInfo: {
      "Host name": hostname(),
      "Exported by": exportedBy,
      "Export time": new Date().toISOString(),
      "Ranger apache version": `gatehouse ${VERSION}`,
    },
    policies,
    startIndex: 0,
    pageSize: policies.length,
    totalCount: policies.length,
    resultSize: policies.length,
    queryTimeMS: Date.now() - started,
  };
}

const IMPORT_SLICE = 500;

/** What an import did, or would do on a dry run. */
export interface ImportReport {
  mode: "merge" | "replace";
  dryRun: boolean;
  /** False on a dry run and when any policy failed (an import applies all or nothing). */
  applied: boolean;
  created: string[];
  updated: string[];
  unchanged: string[];
  deleted: string[];
  failed: { index: number; name: string; error: string; details: { field: string; rule: string; message: string }[] }[];
}

/**
 * Imports policies into `target` by name: new names are created, existing ones updated (merge);
 * `replace` also deletes the service's policies the file does not name. The `service` field of
 * the file's policies is ignored, so an export of one service imports into another. The caller
 * runs this in one transaction and rolls it back for a dry run or when `failed` is not empty.
 */
export async function importPolicies(
  tx: Tx,
  ctx: AuditContext,
  target: ServiceWithDef,
  policies: RangerPolicy[],
  mode: "merge" | "replace",
): Promise<ImportReport> {
  // Slices keep each statement under PostgreSQL's parameter limit; one transaction keeps the
  // import all or nothing.
  const outcomes = [];
  for (let start = 0; start < policies.length; start += IMPORT_SLICE) {
    const slice = policies.slice(start, start + IMPORT_SLICE);
    outcomes.push(
      ...(await applyChanges(
        tx,
        ctx,
        target,
        slice.map((policy, i) => ({ policy, mode: "upsert", field: `policies[${start + i}]` })),
      )),
    );
  }
  const report: ImportReport = {
    mode,
    dryRun: false,
    applied: false,
    created: [],
    updated: [],
    unchanged: [],
    deleted: [],
    failed: [],
  };
  outcomes.forEach((o, index) => {
    if (o.status === "failed") {
      report.failed.push({ index, name: o.name, error: o.error?.message ?? "failed", details: o.error?.details ?? [] });
    } else report[o.status].push(o.name);
  });
  if (mode === "replace") {
    const keep = new Set(policies.map((p) => `${p.zoneName ?? ""}\u0000${p.name}`));
    let after: number | null = null;
    const doomed: number[] = [];
    for (;;) {
      const page = await listPolicies(tx, target.service.id, {}, 1000, after);
      for (const r of page) {
        if (!keep.has(`${r.zoneName}\u0000${r.name}`)) {
          doomed.push(r.id);
          report.deleted.push(r.name);
        }
      }
      if (page.length < 1000) break;
      after = page[page.length - 1]?.id ?? null;
    }
    for (const id of doomed) await deletePolicy(tx, ctx, target, id);
  }
  return report;
}
