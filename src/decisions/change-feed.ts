import type { Queryable } from "../storage/db.ts";
import { listenPostgres, type NotificationListener } from "../storage/notifications.ts";
import { DIRECTORY_LOG_KEEP_MS, DIRECTORY_POLL_MS, watchDirectoryChanges } from "./directory-changes.ts";
import type { DecisionRuntime } from "./runtime.ts";

/** The channel the policy triggers of migration 0004 notify on. */
export const POLICY_CHANNEL = "gatehouse_policies";

/** Where to listen and how often to poll as a safety net. */
export interface ChangeFeedOptions {
  /** The database, for the directory change log. */
  db: Queryable;
  /** PostgreSQL URL; absent on the embedded database (one process: local writes notify in-process). */
  databaseUrl?: string | undefined;
  /** Catch-up poll of the loaded engines, in case a notification was lost; 0 disables. */
  pollIntervalMs?: number;
  onError?: (err: unknown) => void;
}

/** A running feed. */
export interface ChangeFeed {
  stop(): Promise<void>;
  readonly listening: boolean;
}

/**
 * Keeps this process's engines and directory cache in step with changes committed by any
 * process sharing the database. Policies: a notification (a service id) catches that service up
 * from the change log, or the services linked to it when it is a tag service; every
 * (re)connection catches every loaded engine up, because notifications sent while the listener
 * was away are lost; a slow poll covers what no notification announced. Tag changes need no
 * channel of their own: a tag policy delta is copied into each linked service's log and a
 * resource-tag change bumps the service's `tag_version`, and both notify on the policy channel
 * with the linked service's id (migrations 0004, 0006). Security zones need none either: a zone
 * write bumps the policy version of each service in the zone (a `services` row update, notified
 * with its id), which rebuilds that service's engine. The directory: its change log (migration
 * 0019) is polled, and any new change clears the principal cache; a NOTIFY per directory write
 * would commit the writes one at a time (`watchDirectoryChanges`).
 */
export function startChangeFeed(runtime: DecisionRuntime, options: ChangeFeedOptions): ChangeFeed {
  const onError = options.onError ?? (() => {});
  const catchUp = () => {
    runtime.principals.invalidate();
    runtime.engines.refreshAll().catch(onError);
  };
  let listener: NotificationListener | null = null;
  if (options.databaseUrl) {
    listener = listenPostgres(options.databaseUrl, [POLICY_CHANNEL], {
      onNotify(_channel, payload) {
        runtime.engines.refreshById(Number(payload)).catch(onError);
      },
      onConnected: catchUp,
      onError,
    });
  }
  // The embedded database has one process, whose own writes clear its cache: there the watcher
  // only prunes the log, so it reads it once per keep period instead of ten times a second.
  const directory = watchDirectoryChanges(options.db, () => runtime.principals.invalidate(), {
    onError,
    pollMs: options.databaseUrl ? DIRECTORY_POLL_MS : DIRECTORY_LOG_KEEP_MS,
  });
  const interval = options.pollIntervalMs ?? 5_000;
  const timer =
    interval > 0
      ? setInterval(() => {
          runtime.engines.refreshAll().catch(onError);
        }, interval)
      : null;
  timer?.unref();
  return {
    get listening() {
      return listener?.connected ?? false;
    },
    async stop() {
      if (timer) clearInterval(timer);
      await directory.stop();
      await listener?.stop();
    },
  };
}
