import pino, { type Logger } from "pino";
import { buildApp } from "./app.ts";
import { pruneAuditEvents } from "./audit/audit.store.ts";
import { ensureGeneralPsk } from "./auth/general-psk.ts";
import type { Config } from "./config/schema.ts";
import { pruneConsoleSessions } from "./console/sessions.store.ts";
import { pruneDecisionLog, startChangeFeed } from "./decisions/index.ts";
import { pruneIdempotencyKeys } from "./http/idempotency.ts";
import { startSyncScheduler } from "./identity-sources/sync/scheduler.ts";
import type { Db } from "./storage/db.ts";
import { migrate } from "./storage/migrate.ts";
import { NAMES_NFC_MIGRATION, namesMigrationMessage, namesMigrationReport } from "./storage/names-migration-report.ts";
import { openDb } from "./storage/open.ts";

const HOUR_MS = 3_600_000;
const IDEMPOTENCY_RETENTION_HOURS = 24;

/** Opens the configured database, logging once when it is the single-node embedded one. */
export async function openConfiguredDb(config: Config, log: Logger): Promise<Db> {
  return openDb({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
    onStaleLock: ({ pid, path }) =>
      log.warn({ pid, path }, "data directory lock left by a process that is no longer running; taken over"),
    onTransactionRetry: ({ attempt, sqlState }) =>
      log.warn({ attempt, sqlState }, "transaction aborted by a database conflict; running it again"),
    onEmbedded: (where) =>
      log.warn(
        { where },
        "embedded database (PGlite) in use: meant for a single node and for trying Gatehouse; set GATEHOUSE_DATABASE_URL to use PostgreSQL",
      ),
  });
}

/**
 * Starts a server: open and migrate the database, make sure a general PSK exists, build the app,
 * listen, run housekeeping, and shut down gracefully on SIGTERM/SIGINT (stop accepting, drain
 * in-flight requests, close the database). Resolves once listening, with a `stop` function.
 */
export async function startServer(config: Config): Promise<{ url: string; stop: () => Promise<void> }> {
  const started = performance.now();
  const log = pino({ level: config.logLevel, name: "gatehouse" });
  const db = await openConfiguredDb(config, log);
  const applied = await migrate(db);
  if (applied.length > 0) log.info({ applied }, "database migrated");
  if (applied.includes(NAMES_NFC_MIGRATION)) {
    const report = await namesMigrationReport(db);
    if (report) {
      const { level, message } = namesMigrationMessage(report);
      log[level]({ report }, message);
    }
  }
  const generalPskHash = await ensureGeneralPsk(db, config.psk, (psk) => {
    process.stdout.write(
      `\n  Gatehouse generated the general pre-shared key (shown once, only its hash is stored):\n\n    Authorization-PSK: ${psk}\n\n  Set GATEHOUSE_PSK to choose your own.\n\n`,
    );
  });
  const app = await buildApp({ config, db, generalPskHash, logger: log });
  const url = await app.listen({ host: config.host, port: config.port });
  log.info({ url, database: db.kind, startupMs: Math.round(performance.now() - started) }, "gatehouse listening");

  // Decisions: hear of policy changes (LISTEN/NOTIFY) and directory changes (the polled change
  // log) committed by other processes.
  const changeFeed = startChangeFeed(app.decisions, {
    db: db.kysely,
    databaseUrl: config.databaseUrl,
    onError: (err) => log.warn({ err }, "change feed: a read failed; retrying"),
  });

  const housekeeping = async () => {
    try {
      if (config.auditRetentionDays > 0) {
        const removed = await pruneAuditEvents(db.kysely, config.auditRetentionDays);
        if (removed > 0) log.info({ removed }, "audit events past retention removed");
        const decisions = await pruneDecisionLog(db.kysely, config.auditRetentionDays);
        if (decisions > 0) log.info({ removed: decisions }, "decision-log entries past retention removed");
      }
      await pruneIdempotencyKeys(db, IDEMPOTENCY_RETENTION_HOURS);
      await pruneConsoleSessions(db.kysely);
    } catch (err) {
      log.error({ err }, "housekeeping failed");
    }
  };
  void housekeeping();
  const timer = setInterval(housekeeping, HOUR_MS);
  timer.unref();
  // Identity sources with a sync schedule run when due (one process per source: advisory lock).
  const syncScheduler = startSyncScheduler({ db, onApplied: () => app.decisions.afterLocalWrite() }, (err) =>
    log.error({ err }, "identity sync scheduler failed"),
  );

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      clearInterval(timer);
      await syncScheduler.stop();
      await changeFeed.stop();
      const force = setTimeout(() => app.server.closeAllConnections(), config.shutdownGraceSeconds * 1000);
      force.unref();
      await app.close();
      await db.close();
      log.info("gatehouse stopped");
    })();
    return stopping;
  };
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      log.info({ signal }, "shutting down: draining in-flight requests");
      stop().then(
        () => process.exit(0),
        (err) => {
          log.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    });
  }
  return { url, stop };
}
