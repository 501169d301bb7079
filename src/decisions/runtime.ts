import { Counter, Gauge, type Registry } from "prom-client";
import type { Db } from "../storage/db.ts";
import { DecisionAuditWriter } from "./decision-audit.ts";
import { LiveEngines } from "./live-engines.ts";
import { PrincipalCache } from "./principals.ts";

/**
 * What the decision routes share within one app: the live engines, the directory cache and the
 * audit writer. Built by `decisionRoutes`; `server.ts` reaches it (`app.decisions`) to start
 * cross-process change notifications.
 */
export interface DecisionRuntime {
  engines: LiveEngines;
  principals: PrincipalCache;
  audit: DecisionAuditWriter;
  /**
   * Units of matching work one decision request may spend on collection values (config
   * `decisionWorkBudget`; engine match/work-budget.ts); a batch shares one budget.
   */
  workBudget: number;
  /** Counts decisions by result (plain additions; `/metrics` reads them when scraped). */
  countDecision(allowed: boolean, n?: number): void;
  /** Called after a local write committed: catch up without waiting for a notification. */
  afterLocalWrite(): Promise<void>;
}

/** What the runtime takes from the configuration. */
export interface DecisionRuntimeOptions {
  /** config `decisionWorkBudget` */
  workBudget: number;
}

/** Creates the runtime and registers its metrics (decisions, audit queue depth and losses). */
export function createDecisionRuntime(
  db: Db,
  registry: Registry | undefined,
  options: DecisionRuntimeOptions,
): DecisionRuntime {
  const registers = registry ? [registry] : [];
  // Counted in plain numbers and handed to prom-client when scraped: a labelled `inc` hashes and
  // validates its label object on every decision.
  const answered = { allowed: 0, denied: 0 };
  new Counter({
    name: "gatehouse_decisions_total",
    help: "Decisions answered, by result",
    labelNames: ["result"],
    registers,
    collect() {
      this.reset();
      if (answered.allowed > 0) this.inc({ result: "allowed" }, answered.allowed);
      if (answered.denied > 0) this.inc({ result: "denied" }, answered.denied);
    },
  });
  const dropped = new Counter({
    name: "gatehouse_decision_audit_dropped_total",
    help: "Audited decisions not written to the decision log: queue full (overflow) or insert failed",
    labelNames: ["cause"],
    registers,
  });
  const engines = new LiveEngines(db);
  const principals = new PrincipalCache(db.kysely);
  const audit = new DecisionAuditWriter(db.kysely, {
    onDropped: (n) => dropped.inc({ cause: "overflow" }, n),
    onFailed: (n) => dropped.inc({ cause: "insert_failed" }, n),
  });
  new Gauge({
    name: "gatehouse_decision_audit_queue_depth",
    help: "Audited decisions waiting to be written",
    registers,
    collect() {
      this.set(audit.depth);
    },
  });
  new Gauge({
    name: "gatehouse_engine_policy_version",
    help: "Policy version served by each loaded engine",
    labelNames: ["service"],
    registers,
    collect() {
      this.reset();
      for (const name of engines.loaded()) {
        const live = engines.peek(name);
        if (live) this.set({ service: name }, live.version);
      }
    },
  });
  return {
    engines,
    principals,
    audit,
    workBudget: options.workBudget,
    countDecision: (allowed, n = 1) => {
      if (allowed) answered.allowed += n;
      else answered.denied += n;
    },
    async afterLocalWrite() {
      principals.invalidate();
      await engines.refreshAll();
    },
  };
}
