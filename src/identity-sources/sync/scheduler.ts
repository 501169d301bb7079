import { SYSTEM_CONTEXT } from "../../audit/audit.service.ts";
import { AppError } from "../../errors.ts";
import { presentIdentitySource } from "../identity-sources.service.ts";
import { nextRunAt, parseSchedule } from "./schedule.ts";
import { type SyncDeps, type SyncRunView, type SyncState, startSync } from "./sync-runs.ts";

/** How often the server looks for due sources. */
export const SCHEDULER_TICK_MS = 30_000;

function isDue(config: { syncSchedule: string | null }, state: SyncState, now: Date): boolean {
  const schedule = config.syncSchedule ? parseSchedule(config.syncSchedule) : null;
  if (!schedule) return false;
  const last = state.lastStartedAt ? new Date(state.lastStartedAt) : null;
  return nextRunAt(schedule, last, now).getTime() <= now.getTime();
}

/**
 * Starts a run of every identity source whose schedule is due (of every organisation) and
 * resolves when they have finished. Due-ness is checked again under each source's lock, so when
 * several server processes tick together exactly one runs a source and the others skip it.
 */
export async function runDueSources(deps: SyncDeps, now = new Date()): Promise<SyncRunView[]> {
  const rows = await deps.db.kysely.selectFrom("identity_sources").selectAll().execute();
  const finished: SyncRunView[] = [];
  for (const row of rows) {
    const config = presentIdentitySource(row).config;
    if (!isDue(config, (row.sync_state ?? {}) as SyncState, now)) continue;
    try {
      const started = await startSync(deps, row, { dryRun: false, trigger: "schedule", ctx: SYSTEM_CONTEXT }, (state) =>
        isDue(config, state, now),
      );
      if (started) finished.push(await started.done);
    } catch (err) {
      if (err instanceof AppError && err.status === 409) continue; // another process runs it
      throw err;
    }
  }
  return finished;
}

/**
 * The server's sync scheduler: every tick, runs the due sources one after another (a tick that
 * finds the previous one still running is skipped). `stop` waits for the run in progress.
 */
export function startSyncScheduler(
  deps: SyncDeps,
  onError: (err: unknown) => void,
  tickMs = SCHEDULER_TICK_MS,
): { stop(): Promise<void> } {
  let busy: Promise<void> | null = null;
  const tick = () => {
    if (busy) return;
    busy = runDueSources(deps)
      .then(() => {}, onError)
      .finally(() => {
        busy = null;
      });
  };
  const timer = setInterval(tick, tickMs);
  timer.unref();
  tick();
  return {
    async stop() {
      clearInterval(timer);
      await busy;
    },
  };
}
