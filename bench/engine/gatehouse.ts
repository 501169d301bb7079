/**
 * The one place the bench and the property test touch the engine: its public API from
 * src/engine/index.ts (`createEngine` → `PolicyEngine`), nothing internal.
 */
import { createEngine, type EngineOptions, type PolicyEngine } from "../../src/engine/index.ts";
import type {
  EngineInput,
  RangerAccessRequest,
  RangerAccessResult,
  RangerPolicyDelta,
} from "../../src/engine/types.ts";

export interface GatehouseEngine {
  /** Decision for one request; policyType 0 access, 1 data-mask, 2 row-filter. */
  evaluate(request: RangerAccessRequest, policyType: 0 | 1 | 2): RangerAccessResult;
  /** Access only, the hot path the benchmark times. */
  isAllowed(request: RangerAccessRequest): boolean;
  /** Applies policy deltas in place (Ranger's incremental update). */
  applyDeltas(deltas: RangerPolicyDelta[]): GatehouseEngine;
}

export interface GatehouseApi {
  build(input: EngineInput, options?: EngineOptions): GatehouseEngine;
  describe: string;
}

function wrap(engine: PolicyEngine): GatehouseEngine {
  const self: GatehouseEngine = {
    evaluate(req, type) {
      if (type === 1) return engine.evaluateDataMask(req);
      if (type === 2) return engine.evaluateRowFilter(req);
      return engine.isAccessAllowed(req);
    },
    isAllowed: (req) => engine.isAccessAllowed(req).isAllowed,
    applyDeltas(deltas) {
      engine.applyDeltas(deltas);
      return self;
    },
  };
  return self;
}

/** The engine's builder (async for symmetry with the earlier probing loader). */
export async function loadGatehouse(): Promise<GatehouseApi | { missing: string }> {
  return { build: (input, options) => wrap(createEngine(input, options)), describe: "createEngine()" };
}
