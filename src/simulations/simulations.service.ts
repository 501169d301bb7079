import { sql } from "kysely";
import { whoCanAccess } from "../decisions/access.ts";
import type { LiveEngine } from "../decisions/live-engines.ts";
import type { DecisionRuntime } from "../decisions/runtime.ts";
import type { PolicyEngine, RangerPolicy, RangerPolicyDelta } from "../engine/index.ts";
import { ValidationFailed } from "../errors.ts";
import type { Queryable } from "../storage/db.ts";
import { type DraftAnswers, draftAnswers } from "./answer-cache.ts";
import { diffExposure, type ExposureDiff } from "./exposure.ts";
import { type LogKey, readLog } from "./log-read.ts";
import {
  checkNoNewAccess,
  type NoNewAccessVerdict,
  type PrincipalPair,
  verdictResourceFilter,
} from "./no-new-access.ts";
import {
  applyDirectoryDraft,
  type DirectoryDraft,
  directoryNames,
  directoryTouches,
  hasDirectoryChanges,
  policyNames,
  type SimPrincipal,
} from "./principals.ts";
import { emptyTotals, type LoggedRequest, type ReplayChange, type ReplayTotals, replayRequest } from "./replay.ts";

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
  /** the database is the embedded PGlite (the log is then read through a held cursor: `readLog`) */
  embedded?: boolean | undefined;
  /**
   * A digest of the draft as the caller sent it (without the cursor). With it, a paged replay keeps
   * the exposure diff and the verdict of its first page for its continuation pages
   * (`draftAnswers`), which return them instead of computing them again.
   */
  draftKey?: string | undefined;
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
  return resourceKeyParser(names)(key);
}

/**
 * `parseResourceKey` for one service-def. A `/` starts the next resource only where a resource
 * name of the def and `=` follow it (a value may hold `/`); one scan with `indexOf`, no regular
 * expression: a replay parses every logged resource, 1,000,000 of them for a large window.
 */
export function resourceKeyParser(names: readonly string[]): (key: string) => Record<string, string | string[]> {
  const known = new Set(names);
  return (key) => {
    const out: Record<string, string | string[]> = {};
    if (key === "") return out;
    let name: string | null = null;
    let value = "";
    let first = true;
    let start = 0;
    for (;;) {
      let slash = key.indexOf("/", start);
      if (slash < 0) slash = key.length;
      const eq = key.indexOf("=", start);
      const head = eq > start && eq < slash ? key.slice(start, eq) : null;
      if (head !== null && (first || known.has(head))) {
        if (name !== null) out[name] = value.includes("|") ? value.split("|") : value;
        name = head;
        value = key.slice(eq + 1, slash);
      } else if (name !== null) value += key.slice(start - 1, slash);
      first = false;
      if (slash === key.length) break;
      start = slash + 1;
    }
    if (name !== null) out[name] = value.includes("|") ? value.split("|") : value;
    return out;
  };
}

/**
 * Where a paged replay stands: the window start (kept, so later pages replay the same window) and
 * the last request replayed, in the read's key order (user, resource, access type, policy type).
 */
export interface Cursor {
  from: string;
  after: LogKey | null;
  /** the id of the simulation's cached exposure diff and verdict (`draftAnswers`) */
  sim?: string;
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString("base64url");
}

function decodeCursor(text: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(text, "base64url").toString()) as Cursor;
    const a = c.after;
    if (
      typeof c.from === "string" &&
      !Number.isNaN(Date.parse(c.from)) &&
      (a === null ||
        (typeof a === "object" &&
          typeof a.u === "string" &&
          typeof a.r === "string" &&
          typeof a.a === "string" &&
          Number.isInteger(a.t))) &&
      (c.sim === undefined || typeof c.sim === "string")
    )
      return c;
  } catch {}
  const message = "body.replay.cursor: not a cursor this route returned";
  throw ValidationFailed(message, { details: [{ field: "body.replay.cursor", rule: "format", message }] });
}

/** What `replayWindow` replays: the service's log window from `cursor`, decided by `before` and `after`. */
export interface ReplayWindowInput {
  service: string;
  /** the service-def's resource names, in order (to parse the logged resources) */
  resourceNames: readonly string[];
  before: PolicyEngine;
  after: PolicyEngine;
  directory: DirectoryDraft | undefined;
  cursor: Cursor;
  /** distinct requests replayed at most */
  limit: number;
  /** changes listed at most (all are counted) */
  maxChanges: number;
  budgetUnits: number;
  /** the database is the embedded PGlite (`readLog`) */
  embedded: boolean;
  signal?: AbortSignal | undefined;
  /** Which replayed resources to keep in `resources`: those the no-new-access check can use (`verdictResourceFilter`). */
  keepResource: (resource: Record<string, string | string[]>) => boolean;
}

/** A replay of a window (or of its next `limit` requests): totals, changes, and where it stopped. */
export interface ReplayWindowResult extends ReplayTotals {
  /** where to continue; null when the window is done */
  next: Cursor | null;
  cancelled: boolean;
  changes: ReplayChange[];
  /** the logged resources replayed that `keepResource` kept, as logged (the no-new-access check uses them) */
  resources: Set<string>;
}

/**
 * Replays a decision log window: one streamed read (`readLog`) whose batches are decided as they
 * arrive, stopping at `limit` requests or when `signal` aborts (exported for the bench).
 */
export async function replayWindow(db: Queryable, input: ReplayWindowInput): Promise<ReplayWindowResult> {
  const parse = resourceKeyParser(input.resourceNames);
  const totals = emptyTotals();
  const changes: ReplayChange[] = [];
  const resources = new Set<string>();
  let after = input.cursor.after;
  let done = false;
  let cancelled = false;
  await readLog(
    db,
    { service: input.service, from: new Date(input.cursor.from), after, embedded: input.embedded },
    async (next) => {
      for (;;) {
        if (input.signal?.aborted) {
          cancelled = true;
          return;
        }
        const batch = await next();
        if (batch.length === 0) {
          done = true;
          return;
        }
        const room = input.limit - totals.replayed;
        const rows = batch.length > room ? batch.slice(0, room) : batch;
        for (const r of rows) {
          const request: LoggedRequest = {
            user: r.user,
            groups: r.groups,
            roles: r.roles,
            resource: parse(r.resource),
            accessType: r.accessType,
            policyType: r.policyType as 0 | 1 | 2,
            action: r.action ?? undefined,
          };
          const c = replayRequest(input.before, input.after, request, input.directory, totals, input.budgetUnits);
          if (c !== null && changes.length < input.maxChanges) changes.push(c);
          if (input.keepResource(request.resource)) resources.add(r.resource);
        }
        const last = rows.at(-1);
        if (last) after = { u: last.user, r: last.resource, a: last.accessType, t: last.policyType };
        if (rows.length < batch.length) return;
        if (totals.replayed >= input.limit) {
          // the limit fell on a batch's end: done only when nothing follows
          done = (await next()).length === 0;
          return;
        }
      }
    },
  );
  return {
    ...totals,
    next: done ? null : { from: input.cursor.from, after },
    cancelled,
    changes,
    resources,
  };
}

/** Replays the decision log window of a simulation (or its next page, `opts.cursor`). */
async function replayLog(
  db: Queryable,
  live: LiveEngine,
  after: PolicyEngine,
  directory: DirectoryDraft | undefined,
  opts: Required<Pick<SimulationOptions, "days" | "limit" | "maxChanges">> & {
    cursor: Cursor | undefined;
    embedded: boolean;
  },
  budget: number,
  signal: AbortSignal | undefined,
  keepResource: (resource: Record<string, string | string[]>) => boolean,
): Promise<SimulationReport["replay"] & { resources: Set<string>; next: Cursor | null }> {
  const to = new Date();
  const cursor: Cursor = opts.cursor ?? {
    from: new Date(to.getTime() - opts.days * 86_400_000).toISOString(),
    after: null,
  };
  const { next, resources, changes, cancelled, ...totals } = await replayWindow(db, {
    service: live.serviceName,
    resourceNames: (live.def.resources ?? []).map((r) => r.name),
    before: live.engine,
    after,
    directory,
    cursor,
    limit: opts.limit,
    maxChanges: opts.maxChanges,
    budgetUnits: budget,
    embedded: opts.embedded,
    signal,
    keepResource,
  });
  return {
    ...totals,
    from: cursor.from,
    to: to.toISOString(),
    truncated: next !== null,
    nextCursor: null,
    changesTruncated: totals.changed > changes.length,
    cancelled,
    changes,
    resources,
    next,
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
  const cursor = options.cursor ? decodeCursor(options.cursor) : undefined;
  const tagType = live.tag?.type;
  // directory changes: the policies naming a group or role they change decide what they can add
  const touched = directoryTouches(directory);
  const directoryPolicies =
    touched.groups.size + touched.roles.size === 0
      ? []
      : [...live.policies.values()].filter((p) => {
          const n = policyNames([p]);
          return [...n.groups].some((g) => touched.groups.has(g)) || [...n.roles].some((r) => touched.roles.has(r));
        });

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
          next: null,
        }
      : await replayLog(
          db,
          live,
          after,
          directory,
          { days, limit, maxChanges, cursor, embedded: options.embedded === true },
          runtime.workBudget,
          signal,
          verdictResourceFilter([...split.draftPolicies, ...split.replacedPolicies, ...directoryPolicies], tagType),
        );
  const report = (answers: DraftAnswers): SimulationReport => {
    const { resources: _resources, next, ...replayOut } = replay;
    let nextCursor: string | null = null;
    if (next) {
      // a paged simulation keeps its first page's exposure diff and verdict for the next pages
      const sim =
        options.draftKey === undefined
          ? undefined
          : draftAnswers.put(cursor?.sim, options.draftKey, live.version, answers);
      nextCursor = encodeCursor(sim === undefined ? next : { ...next, sim });
    }
    return {
      service: live.serviceName,
      policyVersion: live.version,
      draft: {
        created: split.created,
        updated: split.updated,
        deleted: split.deleted,
        directoryChanges: hasDirectoryChanges(directory),
      },
      replay: { ...replayOut, nextCursor },
      ...answers,
    };
  };
  const cached =
    cursor?.sim !== undefined && options.draftKey !== undefined
      ? draftAnswers.get(cursor.sim, options.draftKey, live.version)
      : undefined;
  if (cached) return report(cached);

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
  // the logged resources whose answer changed (listed), in the order they were replayed
  for (const c of replay.changes)
    if (Object.values(c.resource).every((v) => typeof v === "string"))
      addExposure(c.resource as Record<string, string>);
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

  return report({
    exposure: { resources: exposureResources.length, truncated: exposureTruncated, diffs },
    noNewAccess: verdict,
  });
}
