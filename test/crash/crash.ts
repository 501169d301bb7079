import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import type { Db } from "../../src/storage/db.ts";
import { openDb } from "../../src/storage/open.ts";
import { mulberry32 } from "../support/seeded-random.ts";
import { type ServerProcess, startServerProcess } from "../support/server-process.ts";

const PSK = "crash-test-psk-0123456789";

/** Where the server under test keeps its data: an embedded data folder or a PostgreSQL URL. */
export type CrashTarget = { dataDir: string } | { databaseUrl: string };

/** What a crash run saw. `missing` must be empty: those writes were acknowledged and then lost. */
export interface CrashReport {
  kills: number;
  /** Writes answered 201 (committed, as far as the client knows). */
  acknowledged: number;
  /** Of those, present after the last restart (the group row and its audit event). */
  present: number;
  /** Acknowledged writes whose group or audit event is gone. */
  missing: string[];
  /** Writes whose answer never came (the server died first): either outcome is correct. */
  unanswered: number;
  /** Unanswered writes that were committed all the same. */
  unansweredPresent: number;
  /** Answers other than 201 from a live server (must be empty: no 5xx under load or after restart). */
  unexpected: string[];
  seed: number;
}

/**
 * The crash scenario of issue #13: `writers` clients create groups as fast as the server answers;
 * after a random while (seeded) the server process gets SIGKILL and is started again on the same
 * data, `kills` times; the clients keep writing across the restarts. Finally the server stops
 * gracefully and the database is read directly: every write that was answered 201 must be there,
 * its audit event with it. `log` receives a line per kill.
 */
export async function runCrashScenario(opts: {
  target: CrashTarget;
  kills: number;
  writers?: number;
  /** Milliseconds of load before each kill: at least `minLoadMs`, at most `maxLoadMs`. */
  minLoadMs?: number;
  maxLoadMs?: number;
  seed?: number;
  log?: (line: string) => void;
}): Promise<CrashReport> {
  const seed = opts.seed ?? Date.now() % 1_000_000;
  const random = mulberry32(seed);
  const writers = opts.writers ?? 4;
  const minLoad = opts.minLoadMs ?? 300;
  const maxLoad = opts.maxLoadMs ?? 1500;
  const env: Record<string, string> = {
    GATEHOUSE_PSK: PSK,
    GATEHOUSE_LOG_LEVEL: "info",
    ...("dataDir" in opts.target
      ? { GATEHOUSE_DATA_DIR: opts.target.dataDir }
      : { GATEHOUSE_DATABASE_URL: opts.target.databaseUrl }),
  };
  const prefix = `crash-${randomUUID().slice(0, 8)}`;
  const acknowledged = new Map<string, string>(); // name → group id
  const unanswered: string[] = [];
  const unexpected: string[] = [];

  let server: ServerProcess | null = await startServerProcess(env);
  let up: Promise<ServerProcess> = Promise.resolve(server);
  let done = false;

  const writer = async (w: number) => {
    for (let i = 0; !done; i++) {
      const live = server ?? (await up);
      if (done) return;
      const name = `${prefix}-${w}-${i}`;
      let res: Response;
      try {
        res = await fetch(`${live.url}/v1/groups`, {
          method: "POST",
          headers: { "authorization-psk": PSK, "content-type": "application/json" },
          body: JSON.stringify({ name }),
          signal: AbortSignal.timeout(30_000),
        });
      } catch {
        // the connection died with the server: this write's fate is unknown
        unanswered.push(name);
        continue;
      }
      const body = await res.text().catch(() => "");
      if (res.status === 201) acknowledged.set(name, (JSON.parse(body) as { id: string }).id);
      else if (live === server) unexpected.push(`${res.status} ${body.slice(0, 200)}`);
      else unanswered.push(name);
    }
  };
  const writing = Promise.all(Array.from({ length: writers }, (_, w) => writer(w)));

  try {
    for (let kill = 1; kill <= opts.kills; kill++) {
      // under load: the new server has answered a write, and then a random while passes
      const settled = acknowledged.size;
      while (acknowledged.size === settled) await new Promise((resolve) => setTimeout(resolve, 10));
      await new Promise((resolve) => setTimeout(resolve, minLoad + random() * (maxLoad - minLoad)));
      const victim: ServerProcess = server as ServerProcess;
      const before = acknowledged.size;
      let restarted!: (s: ServerProcess) => void;
      let failed!: (err: unknown) => void;
      up = new Promise<ServerProcess>((resolve, reject) => {
        restarted = resolve;
        failed = reject;
      });
      server = null;
      victim.child.kill("SIGKILL");
      await victim.exited;
      opts.log?.(`kill ${kill}/${opts.kills}: SIGKILL after ${before} acknowledged writes; restarting`);
      try {
        server = await startServerProcess(env);
        restarted(server);
      } catch (err) {
        failed(err);
        throw err;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, minLoad));
  } finally {
    done = true;
    await writing.catch(() => {});
    const last = server as ServerProcess | null;
    if (last) {
      last.child.kill("SIGTERM");
      await last.exited;
    }
  }

  const db = await openDb("dataDir" in opts.target ? { dataDir: opts.target.dataDir } : opts.target);
  try {
    const presentIds = await groupsWithAudit(db, prefix);
    const missing = [...acknowledged].filter(([, id]) => !presentIds.has(id)).map(([name]) => name);
    const names = await db.kysely.selectFrom("groups").select("name").where("name", "like", `${prefix}-%`).execute();
    const committed = new Set(names.map((n) => n.name));
    return {
      kills: opts.kills,
      acknowledged: acknowledged.size,
      present: acknowledged.size - missing.length,
      missing,
      unanswered: unanswered.length,
      unansweredPresent: unanswered.filter((n) => committed.has(n)).length,
      unexpected,
      seed,
    };
  } finally {
    await db.close();
  }
}

/** Ids of the run's groups that exist and whose `group.created` audit event exists too. */
async function groupsWithAudit(db: Db, prefix: string): Promise<Set<string>> {
  const rows = await sql<{ id: string }>`
    select g.id from groups g
    where g.name like ${`${prefix}-%`}
      and exists (select 1 from audit_events a where a.action = 'group.created' and a.target_id = g.id::text)`.execute(
    db.kysely,
  );
  return new Set(rows.rows.map((r) => r.id));
}
