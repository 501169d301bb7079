import pg from "pg";

/** What a notification listener reports to its owner. */
export interface NotificationHandlers {
  /** One committed NOTIFY on a listened channel. */
  onNotify(channel: string, payload: string): void;
  /**
   * Called after every (re)connection, once LISTEN is in place: anything committed while the
   * listener was away was not delivered, so the owner catches up from its change log here.
   */
  onConnected(): void;
  /** A lost connection (the listener retries by itself); for logs. */
  onError?(err: unknown): void;
}

/** A running listener; `stop` closes its connection and cancels reconnection. */
export interface NotificationListener {
  stop(): Promise<void>;
  /** True while LISTEN is active on a live connection. */
  readonly connected: boolean;
}

const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;

/**
 * LISTENs on PostgreSQL `channels` over one dedicated connection (a pooled connection cannot
 * hold LISTEN: it would be handed to other queries). On loss it reconnects with capped backoff
 * and calls `onConnected` again, because PostgreSQL does not queue notifications for a session
 * that was gone. The embedded database has no second process to hear from, so callers notify
 * in-process there instead.
 */
export function listenPostgres(url: string, channels: string[], handlers: NotificationHandlers): NotificationListener {
  let stopped = false;
  let client: pg.Client | null = null;
  let connected = false;
  let delay = RETRY_MIN_MS;
  let timer: NodeJS.Timeout | null = null;

  const schedule = () => {
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = null;
      void connect();
    }, delay);
    timer.unref();
    delay = Math.min(delay * 2, RETRY_MAX_MS);
  };

  const connect = async () => {
    if (stopped) return;
    const c = new pg.Client({ connectionString: url });
    client = c;
    const lost = (err?: unknown) => {
      if (client !== c) return;
      connected = false;
      client = null;
      if (err) handlers.onError?.(err);
      c.end().catch(() => {});
      schedule();
    };
    c.on("error", lost);
    c.on("end", () => lost());
    c.on("notification", (msg) => handlers.onNotify(msg.channel, msg.payload ?? ""));
    try {
      await c.connect();
      for (const channel of channels) await c.query(`listen "${channel.replace(/"/g, '""')}"`);
      if (stopped || client !== c) return;
      connected = true;
      delay = RETRY_MIN_MS;
      handlers.onConnected();
    } catch (err) {
      lost(err);
    }
  };

  void connect();
  return {
    get connected() {
      return connected;
    },
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      const c = client;
      client = null;
      connected = false;
      if (c) await c.end().catch(() => {});
    },
  };
}
