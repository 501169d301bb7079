import { sql } from "kysely";
import { whoCanAccess } from "../decisions/access.ts";
import type { LiveEngine } from "../decisions/live-engines.ts";
import type { DecisionRuntime } from "../decisions/runtime.ts";
import type { PolicyEngine, RangerPolicy, RangerPolicyDelta } from "../engine/index.ts";
import { ValidationFailed } from "../errors.ts";
import type { Queryable } from "../storage/db.ts";
import { diffExposure, type ExposureDiff } from "./exposure.ts";
import { checkNoNewAccess, type NoNewAccessVerdict, type PrincipalPair } from "./no-new-access.ts";
import {
  applyDirectoryDraft,
  type DirectoryDraft,
  directoryNames,
  directoryTouches,
  hasDirectoryChanges,
  policyNames,
  type SimPrincipal,
} from "./principals.ts";
import { emptyTotals, type LoggedRequest, type ReplayChange, type ReplayTotals, replayRequests } from "./replay.ts";

/** Knobs of one simulation (all optional; the route documents the defaults and bounds). */
export interface SimulationOptions {
  /** replay window in days (default 30) */
  days?: number | undefined;
  /** distinct logged requests replayed by this call (default 100,000) */
  limit?: number | undefined;
  /** where a previous call stopped (`replay.nextCursor`) */
  cursor?: string | undefined;
  /** changed requests listed (all are counted; default 1,000) */
  maxChanges?: number | undefined;
  /** resources in the exposure diff (default 200) */
  maxResources?: number | undefined;
  /** principals in the no-new-access check (default 2,000) */
  maxPrincipals?: number | undefined;
  /** when false, only the draft's own checks run (no replay) */
  replay?: boolean | undefined;
}

export interface SimulationReport {
  service: string;
  policyVersion: number;
  draft: { created: number[]; updated: number[]; deleted: number[]; directoryChanges: boolean };
  replay: ReplayTotals & {
    from: string;
    to: string;
    /** true when more distinct requests are left than this call replayed: continue with `nextCursor` */
    truncated: boolean;
    nextCursor: string | null;
    /** true when more changes were found than listed (`changed` counts them all) */
    changesTruncated: boolean;
    cancelled: boolean;
    changes: ReplayChange[];
  };
  exposure: { resources: number; truncated: boolean; diffs: ExposureDiff[] };
  noNewAccess: NoNewAccessVerdict;
}

const PAGE = 5000;
const PARTITION_ROWS = 20_000;
const DEFAULTS = { days: 30, limit: 100_000, maxChanges: 1000, maxResources: 200, maxPrincipals: 2000 };

/** The draft's policies as they would be, and the current versions of those it replaces. */
function splitDraft(live: LiveEngine, deltas: readonly RangerPolicyDelta[]) {
  const created: number[] = [];
  const updated: number[] = [];
  const deleted: number[] = [];
  const draftPolicies: RangerPolicy[] = [];
  const replacedPolicies: RangerPolicy[] = [];
  for (const d of deltas) {
    const id = d.policy.id as number;
    if (d.changeType === 0) created.push(id);
    else if (d.changeType === 1) updated.push(id);
    else deleted.push(id);
    if (d.changeType !== 2 && d.policy.isEnabled !== false) draftPolicies.push(d.policy);
    if (d.changeType !== 0) {
      const old = live.policies.get(id) ?? (d.changeType === 2 ? d.policy : undefined);
      if (old) replacedPolicies.push(old);
    }
  }
  return { created, updated, deleted, draftPolicies, replacedPolicies };
}

/** Parses the decision log's `catalog=a/schema=b` back into a resource (resource names in def order). */
export function parseResourceKey(key: string, names: readonly string[]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (key === "") return out;
  const alt = names.map((n) => n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|");
  const parts = key.split(new RegExp(`/(?=(?:${alt})=)`));
  for (const part of parts) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const value = part.slice(eq + 1);
    out[part.slice(0, eq)] = value.includes("|") ? value.split("|") : value;
  }
  return out;
}

/**
 * Where a paged replay stands: the window start (kept, so later pages replay the same window), the
 * number of hash partitions the window's requests are read in, the partition being read, and the
 * last request read from it.
 */
export interface Cursor {
  from: string;
  parts: number;
  part: number;
  after: { u: string; r: string; a: string; t: number } | null;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString("base64url");
}

function decodeCursor(text: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(text, "base64url").toString()) as Cursor;
    if (
      typeof c.from === "string" &&
      !Number.isNaN(Date.parse(c.from)) &&
      Number.isInteger(c.parts) &&
      c.parts >= 1 &&
      Number.isInteger(c.part) &&
      c.part >= 0 &&
      c.part < c.parts
    )
      return c;
  } catch {}
  const message = "body.replay.cursor: not a cursor this route returned";
  throw ValidationFailed(message, { details: [{ field: "body.replay.cursor", rule: "format", message }] });
}

/** A distinct logged request as read: the latest groups, roles and action it was decided with. */
export interface LogRow {
  user_name: string;
  resource: string;
  access_type: string;
  policy_type: number;
  groups: string[];
  roles: string[];
  action: string | null;
}

/**
 * The number of hash partitions to read a window in: about `PARTITION_ROWS` logged rows each. A
 * page is the distinct requests of one partition (after the cursor's last one), so each query
 * sorts one partition, not the whole window again: reading the window costs one pass per partition
 * instead of a sort of the remaining window per page.
 */
export async function partitionsFor(db: Queryable, service: string, from: Date): Promise<number> {
  const row = await sql<{ n: string | number }>`
    select count(*) as n from decision_log where service = ${service} and occurred_at >= ${from}`.execute(db);
  return Math.max(1, Math.ceil(Number(row.rows[0]?.n ?? 0) / PARTITION_ROWS));
}

/** One page of distinct (user, resource, access type, policy type) requests of one partition (exported for the bench). */
export async function readLogPage(db: Queryable, service: string, cursor: Cursor, size: number): Promise<LogRow[]> {
  const after = cursor.after;
  const rows = await sql<LogRow>`
    select distinct on (user_name, resource, access_type, policy_type)
      user_name, resource, access_type, policy_type, groups, roles, action
    from decision_log
    where service = ${service} and occurred_at >= ${new Date(cursor.from)}
      and (hashtext(user_name || chr(1) || resource || chr(1) || access_type) & 2147483647) % ${cursor.parts} = ${cursor.part}
      ${after ? sql`and (user_name, resource, access_type, policy_type) > (${after.u}, ${after.r}, ${after.a}, ${after.t})` : sql``}
    order by user_name, resource, access_type, policy_type, id desc
    limit ${size}`.execute(db);
  return rows.rows;
}

/** Replays the decision log window page by page, stopping at `limit` or when `signal` aborts. */
async function replayLog(
  db: Queryable,
  live: LiveEngine,
  after: PolicyEngine,
  directory: DirectoryDraft | undefined,
  opts: Required<Pick<SimulationOptions, "days" | "limit" | "maxChanges">> & { cursor?: string | undefined },
  budget: number,
  signal: AbortSignal | undefined,
): Promise<SimulationReport["replay"] & { resources: Set<string> }> {
  const to = new Date();
  let cursor: Cursor;
  if (opts.cursor) cursor = decodeCursor(opts.cursor);
  else {
    const from = new Date(to.getTime() - opts.days * 86_400_000);
    cursor = { from: from.toISOString(), parts: await partitionsFor(db, live.serviceName, from), part: 0, after: null };
  }
  const names = (live.def.resources ?? []).map((r) => r.name);
  const totals = emptyTotals();
  const changes: ReplayChange[] = [];
  const resources = new Set<string>();
  let done = false;
  let cancelled = false;
  while (totals.replayed < opts.limit) {
    if (signal?.aborted) {
      cancelled = true;
      break;
    }
    const size = Math.min(PAGE, opts.limit - totals.replayed);
    const rows = await readLogPage(db, live.serviceName, cursor, size + 1);
    const page = rows.slice(0, size);
    const requests: LoggedRequest[] = page.map((r) => ({
      user: r.user_name,
      groups: r.groups,
      roles: r.roles,
      resource: parseResourceKey(r.resource, names),
      accessType: r.access_type,
      policyType: r.policy_type as 0 | 1 | 2,
      action: r.action ?? undefined,
    }));
    for (const c of replayRequests(live.engine, after, requests, directory, totals, budget)) {
      if (changes.length < opts.maxChanges) changes.push(c);
    }
    for (const r of page) resources.add(r.resource);
    const last = page.at(-1);
    if (rows.length > size && last) {
      cursor = { ...cursor, after: { u: last.user_name, r: last.resource, a: last.access_type, t: last.policy_type } };
    } else if (cursor.part + 1 < cursor.parts) {
      cursor = { ...cursor, part: cursor.part + 1, after: null };
    } else {
      done = true;
      break;
    }
  }
  return {
    ...totals,
    from: cursor.from,
    to: to.toISOString(),
    truncated: !done,
    nextCursor: done ? null : encodeCursor(cursor),
    changesTruncated: totals.changed > changes.length,
    cancelled,
    changes,
    resources,
  };
}

/**
 * The principals the no-new-access check asks about: users the draft names, effective members of
 * the groups it names, holders of the roles it names, users its directory changes touch, and, when
 * it reaches every user (`public`, `{USER}`), one user per distinct effective group set. Each as
 * the directory has it now and after the draft's directory changes. `capped` when over `max`.
 */
async function principalsToCheck(
  runtime: DecisionRuntime,
  db: Queryable,
  policies: readonly RangerPolicy[],
  basePolicies: Iterable<RangerPolicy>,
  directory: DirectoryDraft | undefined,
  max: number,
): Promise<{ pairs: PrincipalPair[]; capped: boolean }> {
  const names = policyNames(policies);
  const dir = directoryNames(directory);
  const users = new Set([...names.users, ...dir.users]);
  // reaching every user: users named anywhere count one by one, the others one per group set
  // (principalClasses)
  const namedAnywhere = names.anyUser
    ? new Set([...users, ...policyNames([...basePolicies]).users])
    : new Set<string>();
  for (const u of namedAnywhere) users.add(u);
  const groups = [...new Set([...names.groups, ...dir.groups])];
  const roles = [...names.roles];
  const ids = new Set<string>();
  const limit = max + 1;
  if (groups.length > 0) {
    const rows = await sql<{ user_id: string }>`
      select distinct m.user_id from group_members m
      join group_closure c on c.descendant_id = m.group_id
      join groups g on g.id = c.ancestor_id
      where g.name in (${sql.join(groups)}) limit ${limit}`.execute(db);
    for (const r of rows.rows) ids.add(r.user_id);
  }
  if (roles.length > 0) {
    const rows = await sql<{ user_id: string }>`
      select distinct b.principal_id as user_id from role_bindings b join roles r on r.id = b.role_id
      where b.principal_type = 'user' and r.name in (${sql.join(roles)})
      union
      select distinct m.user_id from role_bindings b join roles r on r.id = b.role_id
      join group_closure c on c.ancestor_id = b.principal_id
      join group_members m on m.group_id = c.descendant_id
      where b.principal_type = 'group' and r.name in (${sql.join(roles)}) limit ${limit}`.execute(db);
    for (const r of rows.rows) ids.add(r.user_id);
  }
  if (names.anyUser) {
    const rows = await sql<{ user_id: string }>`
      select min(x.user_id::text) as user_id from (
        select u.id as user_id, coalesce(string_agg(m.group_id::text, ',' order by m.group_id), '') as gs
        from users u left join group_members m on m.user_id = u.id
        where u.status = 'active' and not (u.username = any(${[...namedAnywhere]}::text[]))
        group by u.id
      ) x group by x.gs limit ${limit}`.execute(db);
    for (const r of rows.rows) ids.add(r.user_id);
  }
  const principals: SimPrincipal[] = [];
  let capped = false;
  const seen = new Set<string>();
  const push = (p: SimPrincipal) => {
    if (seen.has(p.user)) return;
    if (principals.length >= max) {
      capped = true;
      return;
    }
    seen.add(p.user);
    principals.push(p);
  };
  for (const u of users) {
    const found = await runtime.principals.byUsername(u);
    // a name no directory user has: a user by that name with no groups (external users)
    push(
      found ? { user: found.username, groups: found.groups, roles: found.roles } : { user: u, groups: [], roles: [] },
    );
  }
  for (const id of ids) {
    if (principals.length >= max) {
      capped = true;
      break;
    }
    const found = await runtime.principals.byId(id);
    if (found) push({ user: found.username, groups: found.groups, roles: found.roles });
  }
  return { pairs: principals.map((p) => ({ before: p, after: applyDirectoryDraft(p, directory) })), capped };
}

/** Resources carrying a tag of the given types (first value of each element), from the engine's tag document. */
function taggedResources(live: LiveEngine, tagTypes: ReadonlySet<string>, max: number): Record<string, string>[] {
  if (tagTypes.size === 0) return [];
  const doc = live.heldTags.document;
  const tags = doc.tags ?? {};
  const out: Record<string, string>[] = [];
  for (const sr of doc.serviceResources ?? []) {
    if (out.length >= max) break;
    const tagIds = doc.resourceToTagIds?.[String(sr.id)] ?? [];
    if (!tagIds.some((t) => tagTypes.has(tags[String(t)]?.type ?? ""))) continue;
    const r: Record<string, string> = {};
    for (const [k, v] of Object.entries(sr.resourceElements)) {
      const first = v.values?.[0];
      if (first !== undefined) r[k] = first;
    }
    out.push(r);
  }
  return out;
}

/** The resources a policy names, literally (value combinations, at most `max`). */
function literalResources(p: RangerPolicy, names: readonly string[], max: number): Record<string, string>[] {
  let out: Record<string, string>[] = [{}];
  for (const spec of [p.resources ?? {}]) {
    for (const k of names) {
      const values = spec[k]?.values;
      if (!values || values.length === 0) continue;
      const next: Record<string, string>[] = [];
      for (const r of out) for (const v of values) if (next.length < max) next.push({ ...r, [k]: v });
      out = next;
    }
  }
  return out.filter((r) => Object.keys(r).length > 0);
}

/**
 * Simulates a draft (policy deltas as a write would produce them, plus directory changes) against
 * the service's live engine: replay of the decision log, exposure diff, and the no-new-access
 * verdict (docs/simulation.md). Writes nothing.
 */
export async function simulate(
  runtime: DecisionRuntime,
  db: Queryable,
  serviceName: string,
  deltas: readonly RangerPolicyDelta[],
  directory: DirectoryDraft | undefined,
  options: SimulationOptions = {},
  signal?: AbortSignal,
): Promise<SimulationReport> {
  const live = (await runtime.engines.refresh(serviceName)) ?? (await runtime.engines.get(serviceName));
  const after = live.engine.withDraft(deltas);
  const split = splitDraft(live, deltas);
  const days = options.days ?? DEFAULTS.days;
  const limit = options.limit ?? DEFAULTS.limit;
  const maxChanges = options.maxChanges ?? DEFAULTS.maxChanges;
  const names = (live.def.resources ?? []).map((r) => r.name);

  const replay =
    options.replay === false
      ? {
          ...emptyTotals(),
          from: new Date().toISOString(),
          to: new Date().toISOString(),
          truncated: false,
          nextCursor: null,
          changesTruncated: false,
          cancelled: false,
          changes: [],
          resources: new Set<string>(),
        }
      : await replayLog(
          db,
          live,
          after,
          directory,
          { days, limit, maxChanges, cursor: options.cursor },
          runtime.workBudget,
          signal,
        );

  const tagType = live.tag?.type;
  const tagTypes = new Set<string>();
  for (const p of [...split.draftPolicies, ...split.replacedPolicies])
    if (tagType !== undefined && p.serviceType === tagType)
      for (const v of p.resources?.tag?.values ?? []) tagTypes.add(v);
  const maxResources = options.maxResources ?? DEFAULTS.maxResources;
  const tagged = taggedResources(live, tagTypes, maxResources);
  const logResources = [...replay.resources]
    .map((k) => parseResourceKey(k, names))
    .filter((r): r is Record<string, string> => Object.values(r).every((v) => typeof v === "string"));

  // exposure: the draft's own resources, then logged and tagged ones, compared as who-can-access reports them
  const exposureResources: Record<string, string>[] = [];
  const seen = new Set<string>();
  let exposureTruncated = false;
  const addExposure = (r: Record<string, string>) => {
    const key = JSON.stringify(r);
    if (seen.has(key)) return;
    if (exposureResources.length >= maxResources) {
      exposureTruncated = true;
      return;
    }
    seen.add(key);
    exposureResources.push(r);
  };
  for (const p of [...split.draftPolicies, ...split.replacedPolicies])
    if (p.serviceType !== tagType || tagType === undefined)
      for (const r of literalResources(p, names, maxResources)) addExposure(r);
  for (const r of tagged) addExposure(r);
  const changedKeys = new Set(replay.changes.map((c) => JSON.stringify(c.resource)));
  for (const r of logResources) if (changedKeys.has(JSON.stringify(r))) addExposure(r);
  const afterLive: LiveEngine = { ...live, engine: after };
  const diffs: ExposureDiff[] = [];
  for (const r of exposureResources) {
    const d = diffExposure(r, whoCanAccess(live, r), whoCanAccess(afterLive, r));
    if (d) diffs.push(d);
  }

  const { pairs, capped } = await principalsToCheck(
    runtime,
    db,
    [...split.draftPolicies, ...split.replacedPolicies],
    live.policies.values(),
    directory,
    options.maxPrincipals ?? DEFAULTS.maxPrincipals,
  );
  // directory changes: the policies naming a group or role they change decide what they can add
  const touched = directoryTouches(directory);
  const directoryPolicies =
    touched.groups.size + touched.roles.size === 0
      ? []
      : [...live.policies.values()].filter((p) => {
          const n = policyNames([p]);
          return [...n.groups].some((g) => touched.groups.has(g)) || [...n.roles].some((r) => touched.roles.has(r));
        });
  const verdict = checkNoNewAccess(
    {
      before: live.engine,
      after,
      draftPolicies: split.draftPolicies,
      replacedPolicies: [...split.replacedPolicies, ...directoryPolicies],
      basePolicies: live.policies.values(),
      extraResources: [...logResources, ...tagged],
      principals: pairs,
      budgetUnits: runtime.workBudget,
    },
    tagType,
  );
  if (capped) verdict.complete = false;

  const { resources: _resources, ...replayOut } = replay;
  return {
    service: live.serviceName,
    policyVersion: live.version,
    draft: {
      created: split.created,
      updated: split.updated,
      deleted: split.deleted,
      directoryChanges: hasDirectoryChanges(directory),
    },
    replay: replayOut,
    exposure: { resources: exposureResources.length, truncated: exposureTruncated, diffs },
    noNewAccess: verdict,
  };
}
