import type { AccessEntry } from "../decisions/access.ts";

/** What `GET /v1/services/{service}/access` answers for one resource (the part that is compared). */
export interface ResourceExposure {
  users: AccessEntry[];
  groups: AccessEntry[];
  roles: AccessEntry[];
  dataMasks: unknown[];
  rowFilters: unknown[];
}

/** One principal's access type whose result the draft changes (null: no result on that side). */
export interface ExposureChange {
  name: string;
  accessType: string;
  before: "allowed" | "denied" | "conditional" | null;
  after: "allowed" | "denied" | "conditional" | null;
  policyBefore: number | null;
  policyAfter: number | null;
}

/** The differences on one resource; only resources with a difference are listed. */
export interface ExposureDiff {
  resource: Record<string, string>;
  users: ExposureChange[];
  groups: ExposureChange[];
  roles: ExposureChange[];
  dataMasks?: { before: unknown[]; after: unknown[] };
  rowFilters?: { before: unknown[]; after: unknown[] };
}

function index(entries: AccessEntry[]): Map<string, AccessEntry["accesses"][number]> {
  const out = new Map<string, AccessEntry["accesses"][number]>();
  for (const e of entries) for (const a of e.accesses) out.set(`${e.name}\u0000${a.accessType}`, a);
  return out;
}

function diffEntries(before: AccessEntry[], after: AccessEntry[]): ExposureChange[] {
  const b = index(before);
  const a = index(after);
  const out: ExposureChange[] = [];
  for (const key of new Set([...b.keys(), ...a.keys()])) {
    const x = b.get(key);
    const y = a.get(key);
    if (x?.result === y?.result) continue;
    const [name, accessType] = key.split("\u0000") as [string, string];
    out.push({
      name,
      accessType,
      before: x?.result ?? null,
      after: y?.result ?? null,
      policyBefore: x?.policyId ?? null,
      policyAfter: y?.policyId ?? null,
    });
  }
  return out.sort((p, q) => (p.name === q.name ? (p.accessType < q.accessType ? -1 : 1) : p.name < q.name ? -1 : 1));
}

/** The differences between two who-can-access answers for one resource, or null when there are none. */
export function diffExposure(
  resource: Record<string, string>,
  before: ResourceExposure,
  after: ResourceExposure,
): ExposureDiff | null {
  const out: ExposureDiff = {
    resource,
    users: diffEntries(before.users, after.users),
    groups: diffEntries(before.groups, after.groups),
    roles: diffEntries(before.roles, after.roles),
  };
  if (JSON.stringify(before.dataMasks) !== JSON.stringify(after.dataMasks))
    out.dataMasks = { before: before.dataMasks, after: after.dataMasks };
  if (JSON.stringify(before.rowFilters) !== JSON.stringify(after.rowFilters))
    out.rowFilters = { before: before.rowFilters, after: after.rowFilters };
  const changed =
    out.users.length + out.groups.length + out.roles.length > 0 ||
    out.dataMasks !== undefined ||
    out.rowFilters !== undefined;
  return changed ? out : null;
}
