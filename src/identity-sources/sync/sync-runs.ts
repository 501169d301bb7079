import { type AuditContext, recordAudit } from "../../audit/audit.service.ts";
import { fail } from "../../directory/fail.ts";
import { SyncRunNotFound, SyncRunning } from "../../errors.ts";
import { decodeCursor, encodeCursor } from "../../http/cursor.ts";
import type { Db } from "../../storage/db.ts";
import type { IdentitySourceRow } from "../../storage/schema.ts";
import { credentialOf, presentIdentitySource } from "../identity-sources.service.ts";
import { ldapFailure, withLdap } from "../ldap.client.ts";
import type { LdapConfig } from "../ldap-config.ts";
import { applyPlan } from "./apply.ts";
import { planCounts, planSync, type SyncPlan } from "./plan.ts";
import { type DirectorySnapshot, readDirectory } from "./read-directory.ts";
import { parseSchedule } from "./schedule.ts";

/** A sync run as the API shows it. */
export interface SyncRunView {
  id: string;
  sourceId: string;
  mode: "full" | "incremental";
  dryRun: boolean;
  trigger: "api" | "schedule" | "cli";
  status: "running" | "succeeded" | "failed";
  /** `reading`, `applying`, `done` while it runs and after. */
  phase: string;
  /** Entries read so far (`users`, `groups`). */
  progress: Record<string, unknown>;
  counts: Record<string, number>;
  /** The changes made (or, for a dry run, that would be made); the first 1,000. */
  changes: Record<string, unknown>[];
  conflicts: Record<string, unknown>[];
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
}

/** Persisted between runs in `identity_sources.sync_state`. */
export interface SyncState {
  lastStartedAt?: string;
  lastFullAt?: string;
  mark?: string | null;
}

/** How a run was asked for. */
export interface SyncRequest {
  dryRun: boolean;
  trigger: "api" | "schedule" | "cli";
  /** `auto` (default): full when the last full run is older than `fullSyncEvery`, else incremental. */
  mode?: "full" | "incremental" | "auto";
  ctx: AuditContext;
}

/** What the runner needs from the server around it. */
export interface SyncDeps {
  db: Db;
  /** Called after a run committed changes, so this process's decisions see them at once. */
  onApplied?: () => Promise<void> | void;
}

const CHANGES_KEPT = 1000;
/** Advisory-lock class of a source's sync run (key: the source id). */
const SYNC_LOCK_CLASS = 4243;

function present(row: {
  id: string;
  source_id: string;
  mode: "full" | "incremental";
  dry_run: boolean;
  trigger: "api" | "schedule" | "cli";
  status: "running" | "succeeded" | "failed";
  phase: string;
  progress: Record<string, unknown>;
  counts: Record<string, number>;
  changes: unknown[];
  conflicts: unknown[];
  error: string | null;
  started_at: Date;
  finished_at: Date | null;
}): SyncRunView {
  return {
    id: row.id,
    sourceId: row.source_id,
    mode: row.mode,
    dryRun: row.dry_run,
    trigger: row.trigger,
    status: row.status,
    phase: row.phase,
    progress: row.progress,
    counts: row.counts,
    changes: row.changes as Record<string, unknown>[],
    conflicts: row.conflicts as Record<string, unknown>[],
    error: row.error,
    startedAt: row.started_at.toISOString(),
    finishedAt: row.finished_at?.toISOString() ?? null,
    durationMs: row.finished_at ? row.finished_at.getTime() - row.started_at.getTime() : null,
  };
}

/** One run of a source, or SYNC_RUN_NOT_FOUND naming `path.runId`. */
export async function getSyncRun(db: Db, sourceId: string, runId: string): Promise<SyncRunView> {
  const row = await db.kysely
    .selectFrom("identity_sync_runs")
    .where("id", "=", runId)
    .where("source_id", "=", sourceId)
    .selectAll()
    .executeTakeFirst();
  if (!row) throw fail(SyncRunNotFound, "path.runId", "exists", `sync run \`${runId}\` not found`);
  return present(row);
}

/** The runs of a source, newest first, with a keyset cursor on the start time. */
export async function listSyncRuns(
  db: Db,
  sourceId: string,
  options: { limit: number; cursor?: string | undefined },
): Promise<{ items: SyncRunView[]; nextCursor: string | null; total: number }> {
  let query = db.kysely.selectFrom("identity_sync_runs").where("source_id", "=", sourceId);
  const total = await query.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
  if (options.cursor) {
    const at = decodeCursor<{ t: string; id: string }>(options.cursor, ["t", "id"]);
    query = query.where((eb) =>
      eb.or([
        eb("started_at", "<", new Date(at.t)),
        eb.and([eb("started_at", "=", new Date(at.t)), eb("id", "<", at.id)]),
      ]),
    );
  }
  const rows = await query
    .selectAll()
    .orderBy("started_at", "desc")
    .orderBy("id", "desc")
    .limit(options.limit + 1)
    .execute();
  const page = rows.slice(0, options.limit);
  const last = page[page.length - 1];
  return {
    items: page.map(present),
    nextCursor:
      rows.length > options.limit && last ? encodeCursor({ t: last.started_at.toISOString(), id: last.id }) : null,
    total: Number(total.n),
  };
}

function intervalMs(text: string): number {
  const schedule = parseSchedule(text);
  return schedule?.kind === "interval" ? schedule.ms : 86_400_000;
}

function chooseMode(config: LdapConfig, state: SyncState, asked: SyncRequest["mode"], dryRun: boolean) {
  // memberOf and memberUid lists name members that an incremental read does not return (unchanged
  // users), so those models always run full.
  if (asked === "full" || config.membership !== "dn") return "full";
  if (asked === "incremental") return state.mark ? "incremental" : "full";
  if (dryRun || !state.lastFullAt || !state.mark) return "full";
  return Date.now() - new Date(state.lastFullAt).getTime() >= intervalMs(config.fullSyncEvery) ? "full" : "incremental";
}

/**
 * Takes the source's lock for the whole run (`db.locks`: a PostgreSQL advisory lock, so two server
 * processes never sync one source at once and the second is told SYNC_RUNNING; in memory on the
 * embedded database, which has one process). Resolves `started` once the lock is held, then runs
 * `work` under it.
 */
async function underLock(db: Db, sourceId: string, work: () => Promise<void>, started: (ok: boolean) => void) {
  const lease = await db.locks.tryLock(SYNC_LOCK_CLASS, sourceId);
  if (!lease) return started(false);
  started(true);
  try {
    await work();
  } finally {
    await lease.release();
  }
}

/**
 * Starts a sync run of an identity source and resolves with the run as soon as it is recorded;
 * `done` resolves with the finished run (succeeded or failed: a failure is recorded, not thrown).
 *
 * The run reads the whole answer from the directory first (paged), then plans and applies every
 * change in one transaction with its audit events. So a directory that goes away mid-run leaves
 * nothing half-applied: the read fails, the run is recorded as failed, and the next run starts
 * over. `shouldRun` is asked again under the lock (the scheduler passes "still due?"), so a
 * source that another process just synced is not synced twice.
 *
 * @throws SYNC_RUNNING (409) when another run of the source holds the lock.
 */
export async function startSync(
  deps: SyncDeps,
  row: IdentitySourceRow,
  request: SyncRequest,
  shouldRun: (state: SyncState) => boolean = () => true,
): Promise<{ run: SyncRunView; done: Promise<SyncRunView> } | null> {
  const { db } = deps;
  let resolveStart!: (value: { run: SyncRunView; done: Promise<SyncRunView> } | null) => void;
  let rejectStart!: (err: unknown) => void;
  const startedPromise = new Promise<{ run: SyncRunView; done: Promise<SyncRunView> } | null>((res, rej) => {
    resolveStart = res;
    rejectStart = rej;
  });
  // `done` settles once the lock is released, so a caller that waited can start the next run at once.
  let resolveDone!: (view: SyncRunView) => void;
  let rejectDone!: (err: unknown) => void;
  const done = new Promise<SyncRunView>((res, rej) => {
    resolveDone = res;
    rejectDone = rej;
  });
  done.catch(() => {});
  let result: SyncRunView | null = null;
  let runStarted = false;
  const work = async () => {
    const source = presentIdentitySource(row);
    const fresh = await db.kysely
      .selectFrom("identity_sources")
      .where("id", "=", row.id)
      .select("sync_state")
      .executeTakeFirst();
    const state = (fresh?.sync_state ?? {}) as SyncState;
    if (!shouldRun(state)) return resolveStart(null);
    const mode = chooseMode(source.config, state, request.mode, request.dryRun);
    const inserted = await db.kysely
      .insertInto("identity_sync_runs")
      .values({
        source_id: row.id,
        org_id: row.org_id,
        mode,
        dry_run: request.dryRun,
        trigger: request.trigger,
        phase: "reading",
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    if (!request.dryRun) {
      await db.kysely
        .updateTable("identity_sources")
        .set({ sync_state: JSON.stringify({ ...state, lastStartedAt: inserted.started_at.toISOString() }) })
        .where("id", "=", row.id)
        .execute();
    }
    runStarted = true;
    resolveStart({ run: present(inserted), done });
    result = await execute(deps, row, inserted.id, mode, state, request);
  };
  underLock(db, row.id, work, (ok) => {
    if (!ok) rejectStart(fail(SyncRunning, "path.id", "notRunning", `identity source \`${row.name}\` is syncing`));
  }).then(
    () => {
      if (result) resolveDone(result);
    },
    (err) => {
      if (runStarted) rejectDone(err);
      else rejectStart(err);
    },
  );
  return startedPromise;
}

async function execute(
  deps: SyncDeps,
  row: IdentitySourceRow,
  runId: string,
  mode: "full" | "incremental",
  state: SyncState,
  request: SyncRequest,
): Promise<SyncRunView> {
  const { db } = deps;
  const source = presentIdentitySource(row);
  const full = mode === "full";
  const started = Date.now();
  let lastProgress = 0;
  const progress = async (read: { users: number; groups: number }) => {
    if (Date.now() - lastProgress < 250) return;
    lastProgress = Date.now();
    await db.kysely
      .updateTable("identity_sync_runs")
      .set({ progress: JSON.stringify(read) })
      .where("id", "=", runId)
      .execute();
  };
  try {
    let pending = Promise.resolve();
    const snapshot: DirectorySnapshot = await withLdap(source.config, await credentialOf(db.kysely, row), (client) =>
      readDirectory(client, source.config, full ? null : (state.mark ?? null), (read) => {
        pending = pending.then(() => progress(read)).catch(() => {});
      }),
    );
    await pending;
    const readMs = Date.now() - started;
    await db.kysely
      .updateTable("identity_sync_runs")
      .set({
        phase: request.dryRun ? "planning" : "applying",
        progress: JSON.stringify({ users: snapshot.users.length, groups: snapshot.groups.length }),
      })
      .where("id", "=", runId)
      .execute();
    const target = { id: row.id, orgId: row.org_id, config: source.config };
    let plan: SyncPlan;
    if (request.dryRun) {
      plan = await planSync(db.kysely, target, snapshot, full);
    } else {
      plan = await db.transaction(async (tx) => {
        const planned = await planSync(tx, target, snapshot, full);
        await applyPlan(tx, request.ctx, target, planned);
        const mark = full ? snapshot.mark : laterOf(state.mark ?? null, snapshot.mark);
        const finishedState: SyncState = {
          ...state,
          lastStartedAt: new Date(started).toISOString(),
          ...(full ? { lastFullAt: new Date(started).toISOString() } : {}),
          mark,
        };
        await tx
          .updateTable("identity_sources")
          .set({ sync_state: JSON.stringify(finishedState) })
          .where("id", "=", row.id)
          .execute();
        const counts = planCounts(planned);
        if (Object.entries(counts).some(([k, n]) => k !== "conflicts" && n > 0)) {
          await recordAudit(tx, request.ctx, {
            action: "identity_source.synced",
            targetType: "identity_source",
            targetId: row.id,
            orgId: row.org_id,
            after: { runId, mode, counts },
          });
        }
        return planned;
      });
      if (deps.onApplied) await deps.onApplied();
      await refreshStatistics(db, plan);
    }
    const counts = {
      ...planCounts(plan),
      usersRead: snapshot.users.length,
      groupsRead: snapshot.groups.length,
      skipped: snapshot.skipped.length,
      readMs,
      applyMs: Date.now() - started - readMs,
    };
    const finished = await db.kysely
      .updateTable("identity_sync_runs")
      .set({
        status: "succeeded",
        phase: "done",
        counts: JSON.stringify(counts),
        changes: JSON.stringify(describe(plan).slice(0, CHANGES_KEPT)),
        conflicts: JSON.stringify([
          ...plan.conflicts.slice(0, CHANGES_KEPT),
          ...snapshot.skipped
            .slice(0, 100)
            .map((s) => ({ kind: "skipped", entry: "entry", dn: s.dn, name: s.dn, message: s.reason })),
        ]),
        finished_at: new Date(),
      })
      .where("id", "=", runId)
      .returningAll()
      .executeTakeFirstOrThrow();
    return present(finished);
  } catch (err) {
    const finished = await db.kysely
      .updateTable("identity_sync_runs")
      .set({ status: "failed", phase: "done", error: ldapFailure(err), finished_at: new Date() })
      .where("id", "=", runId)
      .returningAll()
      .executeTakeFirstOrThrow();
    return present(finished);
  }
}

function laterOf(a: string | null, b: string | null): string | null {
  if (a === null) return b;
  if (b === null) return a;
  if (/^\d+$/.test(a) && /^\d+$/.test(b)) return BigInt(a) >= BigInt(b) ? a : b;
  return a >= b ? a : b;
}

/** The plan as a list of readable changes (DNs and names, no local ids needed to read it). */
function describe(
  plan: SyncPlan,
): { action: string; dn?: string; name?: string; group?: string; user?: string; parent?: string | null }[] {
  // Fewest and weightiest first, so the kept 1,000 show them.
  const out: ReturnType<typeof describe> = [];
  for (const g of plan.disableGroups) out.push({ action: "group.disabled", dn: g.dn });
  for (const g of plan.createGroups) out.push({ action: "group.created", dn: g.dn, name: g.name });
  for (const g of plan.adoptGroups) out.push({ action: "group.adopted", dn: g.entry.dn, name: g.entry.name });
  for (const g of plan.renameGroups) out.push({ action: "group.renamed", dn: g.entry.dn, name: g.entry.name });
  for (const g of plan.enableGroups) out.push({ action: "group.enabled", dn: g.entry.dn, name: g.entry.name });
  for (const u of plan.disableUsers) out.push({ action: "user.disabled", dn: u.dn });
  for (const u of plan.enableUsers) out.push({ action: "user.enabled", dn: u.entry.dn, name: u.entry.username });
  for (const u of plan.updateUsers) out.push({ action: "user.updated", dn: u.entry.dn, name: u.entry.username });
  for (const u of plan.createUsers) out.push({ action: "user.created", dn: u.dn, name: u.username });
  const dns = new Map<string, string>();
  for (const t of plan.touched) dns.set(t.entryId, t.dn);
  for (const [g, u] of plan.addMembers)
    out.push({ action: "group.member.added", group: dns.get(g) ?? g, user: dns.get(u) ?? u });
  for (const [g, u] of plan.removeMembers)
    out.push({ action: "group.member.removed", group: dns.get(g) ?? g, user: dns.get(u) ?? u });
  for (const [g, p] of plan.moveGroups)
    out.push({ action: "group.moved", group: dns.get(g) ?? g, parent: p === null ? null : (dns.get(p) ?? p) });
  return out;
}

/** Changes after which the planner statistics of the directory tables are refreshed. */
const ANALYZE_AFTER = 10_000;

/**
 * After a large run (a first import of 100,000 users writes 600,000 rows in one transaction),
 * refreshes the planner statistics of the tables it wrote, so the next runs (and every directory
 * query) are not planned against statistics taken before the import until autovacuum gets to it.
 */
async function refreshStatistics(db: Db, plan: SyncPlan): Promise<void> {
  const changed =
    plan.createUsers.length + plan.createGroups.length + plan.addMembers.length + plan.removeMembers.length;
  if (changed < ANALYZE_AFTER || db.kind !== "postgres") return;
  await db.withSession((session) =>
    session.exec(
      "analyze users; analyze groups; analyze group_members; analyze group_closure; analyze identity_sync_entries",
    ),
  );
}
