/**
 * Public surface of the Gatehouse policy decision engine (`gatehouse/engine`).
 * The engine is pure: it takes Ranger-format data in and answers decisions synchronously.
 */

export { type EngineOptions, PolicyEngine, type ResourceAccessInfo } from "./engine.ts";
export type { ExplainedItem, ExplainedPolicy, Explanation } from "./explain.ts";
export type { MatchType } from "./match/policy-resource-matcher.ts";
export { type WorkBudget, WorkBudgetExceeded, workBudget } from "./match/work-budget.ts";
export { hbaseTableValue, toHBaseResource } from "./model/hbase-resource.ts";
export { applyServiceTagsDelta, HeldServiceTags } from "./model/service-tags-apply.ts";
export { diffServiceTags } from "./model/service-tags-diff.ts";
export type * from "./types.ts";
export {
  CHANGE_TYPE_POLICY_CREATE,
  CHANGE_TYPE_POLICY_DELETE,
  CHANGE_TYPE_POLICY_UPDATE,
  POLICY_TYPE_ACCESS,
  POLICY_TYPE_DATAMASK,
  POLICY_TYPE_ROWFILTER,
} from "./types.ts";
export { type PolicyValidationError, type PolicyValidationResult, validatePolicy } from "./validate.ts";

import { type EngineOptions, PolicyEngine } from "./engine.ts";
import type { EngineInput } from "./types.ts";

/** Builds an engine from Ranger-format data (service-def, policies, roles, zones, tags, config). */
export function createEngine(input: EngineInput, options?: EngineOptions): PolicyEngine {
  return new PolicyEngine(input, options);
}

/**
 * Builds the same engine as `createEngine`, a slice of policies per step of the returned generator
 * (which returns the engine), for a server that must keep answering while it builds: it runs the
 * next step on the event loop's next turn (`PolicyEngine.inSlices`).
 */
export function createEngineInSlices(
  input: EngineInput,
  options: EngineOptions = {},
): Generator<void, PolicyEngine, void> {
  return PolicyEngine.inSlices(input, options);
}
