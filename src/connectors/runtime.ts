import { sql } from "kysely";
import { Counter, Gauge, type Registry } from "prom-client";
import type { Db } from "../storage/db.ts";
import { type ConnectorRow, findConnectorRow, isSelected } from "./connector-model.ts";
import { type DeliveryLog, deliverRound, type RetryPolicy } from "./delivery.ts";
import { deliverPolicyRound } from "./policy-delivery.ts";
import type { RangerPolicyClient } from "./ranger/ranger-policies.ts";
import { type ReconcileReport, reconcileConnector } from "./reconcile.ts";
import { policyClientOf, targetOf } from "./registry.ts";
import type { ConnectorTarget } from "./target.ts";

/** Settings of the runtime (from the configuration; tests shorten them). */
export interface RuntimeOptions {
  workers: boolean;
  retry: RetryPolicy;
  reconcileSeconds: number;
  /** Idle poll of a worker's queue (a local change wakes it at once). */
  pollMs?: number;
  /** How often a process tries to become the leader of connectors nobody leads. */
  leaderCheckMs?: number;
}

/** Advisory-lock class of connector leadership (key: hashtext of the connector id). */
const LEADER_LOCK_CLASS = 4243;
/** How often a leader checks that its lock's connection still lives. */
const ALIVE_CHECK_MS = 2_000;

/** Whether the groups of a request reached every connector of their organisation. */
export type DeliveryWait = { ok: true } | { ok: false; target: string; error: string };

/**
 * The connectors of one server process: a delivery worker for each enabled connector this process
 * leads (the holder of the connector's lock in `db.locks`: on PostgreSQL an advisory lock, which a
 * process that dies releases, so another takes over at its next check; on the embedded database
 * the one process), the scheduled reconcile, the Nx1 wait and the Prometheus metrics.
 */
export class ConnectorRuntime {
  readonly #db: Db;
  readonly #options: RuntimeOptions;
  readonly #log: DeliveryLog & { error(obj: object, msg: string): void };
  readonly #running = new Map<string, Promise<void>>();
  readonly #wakers = new Set<() => void>();
  readonly #targets = new Map<string, { stamp: string; target: ConnectorTarget }>();
  readonly #policyClients = new Map<string, { stamp: string; client: RangerPolicyClient | null }>();
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  readonly #deliveries: Counter<"connector" | "result">;

  constructor(
    db: Db,
    options: RuntimeOptions,
    log: DeliveryLog & { error(obj: object, msg: string): void },
    registry?: Registry,
  ) {
    this.#db = db;
    this.#options = options;
    this.#log = log;
    this.#deliveries = new Counter({
      name: "gatehouse_connector_deliveries_total",
      help: "Group and policy deliveries by connector and result (delivered, failed, dead_lettered)",
      labelNames: ["connector", "result"],
      registers: registry ? [registry] : [],
    });
    if (registry) registerStatusGauges(db, registry);
  }

  /** Starts leading connectors (no-op when workers are off in this process). */
  start(): void {
    if (!this.#options.workers || this.#timer) return;
    const tick = () => {
      this.#claim().catch((err) => this.#log.error({ err }, "connector: leadership check failed"));
    };
    this.#timer = setInterval(tick, this.#options.leaderCheckMs ?? 2_000);
    this.#timer.unref();
    tick();
  }

  /** Stops every worker this process runs and waits for their rounds to end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.wake();
    await Promise.allSettled([...this.#running.values()]);
  }

  /** Wakes idle workers: a change was just committed. */
  wake(): void {
    for (const w of [...this.#wakers]) w();
  }

  /** The target of a connector, built once per version of its settings. */
  async targetFor(row: ConnectorRow): Promise<ConnectorTarget | null> {
    const stamp = new Date(row.updated_at).toISOString();
    const cached = this.#targets.get(row.id);
    if (cached?.stamp === stamp) return cached.target;
    const target = await targetOf(this.#db.kysely, row);
    if (target) this.#targets.set(row.id, { stamp, target });
    return target;
  }

  /** The policy client of a ranger connector that maps services, built once per version of its settings. */
  async policyClientFor(row: ConnectorRow): Promise<RangerPolicyClient | null> {
    const stamp = new Date(row.updated_at).toISOString();
    const cached = this.#policyClients.get(row.id);
    if (cached?.stamp === stamp) return cached.client;
    const client = await policyClientOf(this.#db.kysely, row);
    this.#policyClients.set(row.id, { stamp, client });
    return client;
  }

  /** Reconciles with a target object of its own (the worker's cache is left alone). */
  async reconcile(row: ConnectorRow, dryRun: boolean): Promise<ReconcileReport | null> {
    const target = await targetOf(this.#db.kysely, row);
    if (!target) return null;
    const policies = await policyClientOf(this.#db.kysely, row);
    const report = await reconcileConnector(this.#db.kysely, row, target, { dryRun, policies });
    if (!dryRun) this.#targets.get(row.id)?.target.invalidate?.();
    return report;
  }

  /**
   * Waits until none of `groupIds` has a queued change for any enabled connector of `orgId`, at
   * most `timeoutMs`. A target's refusal that retrying cannot fix (a 4xx) ends the wait at once;
   * otherwise the answer at the bound names the target and its last answer.
   */
  async waitDelivered(orgId: string, groupIds: string[], timeoutMs: number): Promise<DeliveryWait> {
    const connectors = (
      await sql<{ id: string; name: string; kind: string; config: ConnectorRow["config"] }>`
        select id, name, kind, config from connectors where enabled and ${orgId}::uuid = any(org_ids)`.execute(
        this.#db.kysely,
      )
    ).rows;
    if (connectors.length === 0 || groupIds.length === 0) return { ok: true };
    // only the groups each connector carries are waited for (its selection)
    const groups = (
      await sql<{ id: string; name: string }>`select id, name from groups where id = any(${groupIds}::uuid[])`.execute(
        this.#db.kysely,
      )
    ).rows;
    const pairs = connectors.flatMap((c) =>
      groups.filter((g) => isSelected(c.config.selection, g)).map((g) => ({ connector: c.id, group: g.id })),
    );
    if (pairs.length === 0) return { ok: true };
    this.wake();
    const deadline = Date.now() + timeoutMs;
    for (let delay = 20; ; delay = Math.min(delay * 2, 250)) {
      const stuck = (
        await sql<{ connector_id: string; last_error: string | null; last_status: number | null; dead: boolean }>`
          select distinct o.connector_id, s.last_error, s.last_status, s.dead_at is not null as dead
          from connector_outbox o
          left join connector_objects s on s.connector_id = o.connector_id and s.group_id = o.group_id
          join unnest(${pairs.map((p) => p.connector)}::uuid[], ${pairs.map((p) => p.group)}::uuid[]) as w(c, g)
            on o.connector_id = w.c and o.group_id = w.g`.execute(this.#db.kysely)
      ).rows;
      if (stuck.length === 0) return { ok: true };
      const refused = stuck.find(
        (s) => s.dead || (s.last_status !== null && s.last_status < 500 && s.last_status !== 429),
      );
      const last = refused ?? stuck.find((s) => s.last_error) ?? stuck[0];
      const connector = connectors.find((c) => c.id === last?.connector_id);
      if (refused || Date.now() >= deadline) {
        const error =
          (last?.last_error ?? `${connector?.kind ?? "target"}: not reached within ${timeoutMs} ms`) +
          (last?.dead ? ` (dead-lettered: retry it at /v1/connectors/${last.connector_id}/dead-letters)` : "");
        return { ok: false, target: connector?.name ?? "", error };
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(delay, Math.max(1, deadline - Date.now()))));
    }
  }

  async #claim(): Promise<void> {
    if (this.#stopped) return;
    const rows = (await sql<{ id: string }>`select id from connectors where enabled`.execute(this.#db.kysely)).rows;
    for (const { id } of rows) {
      if (this.#running.has(id)) continue;
      const tracked = this.#lead(id)
        .catch((err) => this.#log.error({ err, connectorId: id }, "connector: worker stopped on an error"))
        .finally(() => this.#running.delete(id));
      this.#running.set(id, tracked);
    }
  }

  /** Runs the worker while holding the connector's lock; returns at once when another process holds it. */
  async #lead(id: string): Promise<void> {
    const lease = await this.#db.locks.tryLock(LEADER_LOCK_CLASS, id);
    if (!lease) return;
    try {
      await this.#work(id, () => lease.alive());
    } finally {
      await lease.release();
    }
  }

  /** The delivery loop of one connector, until it is disabled or deleted or the process stops. */
  async #work(id: string, alive: () => Promise<void>): Promise<void> {
    this.#log.info({ connectorId: id }, "connector: leading delivery");
    let checked = Date.now();
    while (!this.#stopped) {
      if (Date.now() - checked > ALIVE_CHECK_MS) {
        await alive(); // throws when the lock's connection is gone: leadership is lost with it
        checked = Date.now();
      }
      const row = await findConnectorRow(this.#db.kysely, id);
      if (!row?.enabled) return;
      const target = await this.targetFor(row);
      if (!target) {
        await this.#sleep(5_000);
        continue;
      }
      await this.#scheduledReconcile(row);
      let busy = false;
      try {
        const round = await deliverRound(this.#db.kysely, row, target, this.#options.retry, this.#log);
        const client = await this.policyClientFor(row);
        if (client) {
          const policies = await deliverPolicyRound(this.#db.kysely, row, client, this.#options.retry, this.#log);
          round.delivered += policies.delivered;
          round.failed += policies.failed;
          round.dead += policies.dead;
        }
        busy = round.delivered + round.failed > 0;
        if (round.delivered) this.#deliveries.inc({ connector: row.name, result: "delivered" }, round.delivered);
        if (round.failed) this.#deliveries.inc({ connector: row.name, result: "failed" }, round.failed);
        if (round.dead) this.#deliveries.inc({ connector: row.name, result: "dead_lettered" }, round.dead);
      } catch (err) {
        this.#log.error({ err, connector: row.name }, "connector: delivery round failed");
        target.invalidate?.();
        await this.#sleep(1_000);
        continue;
      }
      if (!busy) await this.#sleep(this.#options.pollMs ?? 250);
    }
  }

  async #scheduledReconcile(row: ConnectorRow): Promise<void> {
    const every = this.#options.reconcileSeconds;
    if (every <= 0) return;
    const since = new Date(row.last_reconcile_at ?? row.created_at).getTime();
    if (Date.now() - since < every * 1000) return;
    try {
      const target = await this.targetFor(row);
      if (!target) return;
      const policies = await this.policyClientFor(row);
      const report = await reconcileConnector(this.#db.kysely, row, target, { dryRun: false, policies });
      this.#log.info(
        { connector: row.name, counts: report.counts, repaired: report.repaired },
        "connector: scheduled reconcile",
      );
    } catch (err) {
      this.#log.error({ err, connector: row.name }, "connector: scheduled reconcile failed");
      await sql`update connectors set last_reconcile_at = now(), last_error = ${String(err)}, last_error_at = now()
                where id = ${row.id}::uuid`.execute(this.#db.kysely);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wakers.add(done);
    });
  }
}

/** The delivery state of a connector (`GET /v1/connectors/{id}/status`, and the gauges). */
export interface ConnectorStatus {
  pending: number;
  failing: number;
  deadLettered: number;
  /** Age of the oldest undelivered change, in seconds (0 when nothing is queued). */
  lagSeconds: number;
  oldestPendingAt: string | null;
  lastSuccessAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  lastReconcileAt: string | null;
}

interface StatusRow {
  id: string;
  name: string;
  pending: number;
  failing: number;
  dead: number;
  oldest: Date | null;
  lag: number | null;
  last_success_at: Date | null;
  last_error: string | null;
  last_error_at: Date | null;
  last_reconcile_at: Date | null;
}

async function statusRows(db: Db, id?: string): Promise<StatusRow[]> {
  return (
    await sql<StatusRow>`
      select c.id, c.name,
        (select count(distinct o.group_id)::int from connector_outbox o where o.connector_id = c.id)
          + (select count(distinct o.policy_id)::int from connector_policy_outbox o where o.connector_id = c.id) as pending,
        (select count(*)::int from connector_objects s where s.connector_id = c.id and s.attempts > 0 and s.dead_at is null)
          + (select count(*)::int from connector_policies s where s.connector_id = c.id and s.attempts > 0 and s.dead_at is null) as failing,
        (select count(*)::int from connector_objects s where s.connector_id = c.id and s.dead_at is not null)
          + (select count(*)::int from connector_policies s where s.connector_id = c.id and s.dead_at is not null) as dead,
        least((select min(o.created_at) from connector_outbox o where o.connector_id = c.id),
              (select min(o.created_at) from connector_policy_outbox o where o.connector_id = c.id)) as oldest,
        extract(epoch from now() - least((select min(o.created_at) from connector_outbox o where o.connector_id = c.id),
              (select min(o.created_at) from connector_policy_outbox o where o.connector_id = c.id)))::float8 as lag,
        c.last_success_at, c.last_error, c.last_error_at, c.last_reconcile_at
      from connectors c ${id ? sql`where c.id = ${id}::uuid` : sql``}`.execute(db.kysely)
  ).rows;
}

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

/** The status of one connector. */
export async function connectorStatus(db: Db, id: string): Promise<ConnectorStatus> {
  const [r] = await statusRows(db, id);
  return {
    pending: Number(r?.pending ?? 0),
    failing: Number(r?.failing ?? 0),
    deadLettered: Number(r?.dead ?? 0),
    lagSeconds: Math.max(0, Number(r?.lag ?? 0)),
    oldestPendingAt: iso(r?.oldest ?? null),
    lastSuccessAt: iso(r?.last_success_at ?? null),
    lastError: r?.last_error ?? null,
    lastErrorAt: iso(r?.last_error_at ?? null),
    lastReconcileAt: iso(r?.last_reconcile_at ?? null),
  };
}

/** Prometheus gauges of every connector's queue, read when scraped. */
function registerStatusGauges(db: Db, registry: Registry): void {
  const gauges = {
    pending: new Gauge({
      name: "gatehouse_connector_pending",
      help: "Groups and policies with undelivered changes, per connector",
      labelNames: ["connector"],
      registers: [registry],
    }),
    failing: new Gauge({
      name: "gatehouse_connector_failing",
      help: "Groups and policies whose last delivery failed and that wait for a retry, per connector",
      labelNames: ["connector"],
      registers: [registry],
    }),
    dead: new Gauge({
      name: "gatehouse_connector_dead_letters",
      help: "Groups and policies whose delivery is parked after too many failures, per connector",
      labelNames: ["connector"],
      registers: [registry],
    }),
    lag: new Gauge({
      name: "gatehouse_connector_lag_seconds",
      help: "Age of the oldest undelivered change, per connector",
      labelNames: ["connector"],
      registers: [registry],
    }),
  };
  // one query per scrape fills all four
  let reading: Promise<void> | null = null;
  const read = () => {
    reading ??= statusRows(db)
      .then((rows) => {
        for (const g of Object.values(gauges)) g.reset();
        for (const r of rows) {
          gauges.pending.set({ connector: r.name }, Number(r.pending));
          gauges.failing.set({ connector: r.name }, Number(r.failing));
          gauges.dead.set({ connector: r.name }, Number(r.dead));
          gauges.lag.set({ connector: r.name }, Math.max(0, Number(r.lag ?? 0)));
        }
      })
      .catch(() => {})
      .finally(() => {
        setTimeout(() => {
          reading = null;
        }, 100).unref();
      });
    return reading;
  };
  for (const g of Object.values(gauges)) {
    (g as unknown as { collect: () => Promise<void> }).collect = read;
  }
}
