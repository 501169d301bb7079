import { listenPostgres, type NotificationListener } from "../storage/notifications.ts";
import type { DecisionRuntime } from "./runtime.ts";

/** Channels the triggers of migration 0004 notify on. */
export const POLICY_CHANNEL = "gatehouse_policies";
export const DIRECTORY_CHANNEL = "gatehouse_directory";

/** Where to listen and how often to poll as a safety net. */
export interface ChangeFeedOptions {
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
 * process sharing the database: a policy notification (a service id) catches that service up
 * from the change log, or the services linked to it when it is a tag service; a directory
 * notification clears the principal cache; every (re)connection does both for everything,
 * because notifications sent while the listener was away are lost. A slow poll covers what no
 * notification announced. Tag changes need no channel of their own: a tag policy delta is copied
 * into each linked service's log and a resource-tag change bumps the service's `tag_version`,
 * and both notify on the policy channel with the linked service's id (migrations 0004, 0006).
 * Security zones need none either: a zone write bumps the policy version of each service in the
 * zone (a `services` row update, notified with its id), which rebuilds that service's engine.
 */
export function startChangeFeed(runtime: DecisionRuntime, options: ChangeFeedOptions): ChangeFeed {
  const onError = options.onError ?? (() => {});
  const catchUp = () => {
    runtime.principals.invalidate();
    runtime.engines.refreshAll().catch(onError);
  };
  let listener: NotificationListener | null = null;
  if (options.databaseUrl) {
    listener = listenPostgres(options.databaseUrl, [POLICY_CHANNEL, DIRECTORY_CHANNEL], {
      onNotify(channel, payload) {
        if (channel === DIRECTORY_CHANNEL) runtime.principals.invalidate();
        else runtime.engines.refreshById(Number(payload)).catch(onError);
      },
      onConnected: catchUp,
      onError,
    });
  }
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
      await listener?.stop();
    },
  };
}
