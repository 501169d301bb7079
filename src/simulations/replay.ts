import { type DecisionInput, evaluateWith, toEngineRequest } from "../decisions/decide.ts";
import type { PolicyEngine, RangerAccessResult } from "../engine/index.ts";
import { applyDirectoryDraft, type DirectoryDraft, hasDirectoryChanges } from "./principals.ts";

/** One distinct request from the decision log, with the groups and roles it was last decided with. */
export interface LoggedRequest {
  user: string;
  groups: string[];
  roles: string[];
  resource: Record<string, string | string[]>;
  accessType: string;
  policyType: 0 | 1 | 2;
  action?: string | undefined;
}

/** An answer as a simulation compares it. */
export interface SimAnswer {
  allowed: boolean;
  policyId: number;
  maskType?: string;
  maskedValue?: string;
  maskCondition?: string;
  filterExpr?: string;
}

export type ChangeDirection = "newlyAllowed" | "newlyDenied" | "maskChanged" | "rowFilterChanged";

/** A logged request whose answer the draft changes. */
export interface ReplayChange {
  user: string;
  resource: Record<string, string | string[]>;
  accessType: string;
  policyType: number;
  direction: ChangeDirection;
  before: SimAnswer;
  after: SimAnswer;
}

/** Running totals of a replay (several pages add into one). */
export interface ReplayTotals {
  replayed: number;
  changed: number;
  newlyAllowed: number;
  newlyDenied: number;
  maskChanged: number;
  rowFilterChanged: number;
  /** same answer, another deciding policy (not listed) */
  decidingPolicyChanged: number;
}

export function emptyTotals(): ReplayTotals {
  return {
    replayed: 0,
    changed: 0,
    newlyAllowed: 0,
    newlyDenied: 0,
    maskChanged: 0,
    rowFilterChanged: 0,
    decidingPolicyChanged: 0,
  };
}

const POLICY_TYPE_NAMES = ["access", "datamask", "rowfilter"] as const;

function answerOf(res: RangerAccessResult): SimAnswer {
  const out: SimAnswer = { allowed: res.isAllowed, policyId: res.policyId };
  if (res.maskType !== undefined) out.maskType = res.maskType;
  if (res.maskedValue !== undefined) out.maskedValue = res.maskedValue;
  if (res.maskCondition !== undefined) out.maskCondition = res.maskCondition;
  if (res.filterExpr !== undefined) out.filterExpr = res.filterExpr;
  return out;
}

/** The direction of a change, or null when the answer is the same. */
export function directionOf(policyType: number, b: SimAnswer, a: SimAnswer): ChangeDirection | null {
  if (policyType === 1) {
    const same = b.maskType === a.maskType && b.maskedValue === a.maskedValue && b.maskCondition === a.maskCondition;
    return same ? null : "maskChanged";
  }
  if (policyType === 2) return b.filterExpr === a.filterExpr ? null : "rowFilterChanged";
  if (b.allowed === a.allowed) return null;
  return a.allowed ? "newlyAllowed" : "newlyDenied";
}

/**
 * Decides each request with `before` and with `after` exactly as `POST /v1/decisions` does (the
 * same request building and `evaluateWith`), the "after" principal carrying the draft's directory
 * changes, and reports the requests whose answer differs. Adds into `totals`; returns the changes.
 */
export function replayRequests(
  before: PolicyEngine,
  after: PolicyEngine,
  requests: readonly LoggedRequest[],
  directory: DirectoryDraft | undefined,
  totals: ReplayTotals,
  budgetUnits: number,
): ReplayChange[] {
  const changes: ReplayChange[] = [];
  for (const r of requests) {
    const change = replayRequest(before, after, r, directory, totals, budgetUnits);
    if (change !== null) changes.push(change);
  }
  return changes;
}

/** `replayRequests` for one request: its change, or null when the draft does not change its answer. */
export function replayRequest(
  before: PolicyEngine,
  after: PolicyEngine,
  r: LoggedRequest,
  directory: DirectoryDraft | undefined,
  totals: ReplayTotals,
  budgetUnits: number,
): ReplayChange | null {
  const input: DecisionInput = {
    user: r.user,
    resource: r.resource,
    accessType: r.accessType,
    policyType: POLICY_TYPE_NAMES[r.policyType],
    action: r.action ?? undefined,
  };
  const req = toEngineRequest(input, r.groups, r.roles, undefined, budgetUnits);
  const b = answerOf(evaluateWith(before, input, req));
  // without directory changes one request object serves both engines (the engine never changes it)
  let reqAfter = req;
  if (hasDirectoryChanges(directory)) {
    const p = applyDirectoryDraft({ user: r.user, groups: r.groups, roles: r.roles }, directory);
    reqAfter = toEngineRequest(input, p.groups as string[], p.roles as string[], undefined, budgetUnits);
  }
  const a = answerOf(evaluateWith(after, input, reqAfter));
  totals.replayed++;
  const direction = directionOf(r.policyType, b, a);
  if (direction === null) {
    if (b.policyId !== a.policyId) totals.decidingPolicyChanged++;
    return null;
  }
  totals.changed++;
  totals[direction]++;
  return {
    user: r.user,
    resource: r.resource,
    accessType: r.accessType,
    policyType: r.policyType,
    direction,
    before: b,
    after: a,
  };
}
