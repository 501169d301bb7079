/**
 * The one place the bench and the property test touch the engine: its public API from
 * src/engine/index.ts, nothing internal. `loadGatehouse()` returns undefined (with the reason) while
 * the engine does not export a builder yet, so the bench can report "skipped" instead of failing.
 */
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
  /** Applies policy deltas; returns the engine to use afterwards (same or new). */
  applyDeltas?(deltas: RangerPolicyDelta[]): GatehouseEngine;
}

export interface GatehouseApi {
  build(input: EngineInput): GatehouseEngine;
  describe: string;
}

type AnyFn = (...args: unknown[]) => unknown;
type Obj = Record<string, unknown>;

function wrap(raw: Obj): GatehouseEngine {
  const call = (name: string) => (typeof raw[name] === "function" ? (raw[name] as AnyFn).bind(raw) : undefined);
  const evaluate = call("evaluate") ?? call("evaluatePolicies") ?? call("decide");
  const access = call("isAccessAllowed") ?? call("evaluateAccess");
  const mask = call("evalDataMaskPolicies") ?? call("evaluateDataMask");
  const filter = call("evalRowFilterPolicies") ?? call("evaluateRowFilter");
  const deltas = call("applyDeltas") ?? call("applyPolicyDeltas") ?? call("cloneWithDelta");
  const engine: GatehouseEngine = {
    evaluate(req, type) {
      if (type === 0 && access) return access(req) as RangerAccessResult;
      if (type === 1 && mask) return mask(req) as RangerAccessResult;
      if (type === 2 && filter) return filter(req) as RangerAccessResult;
      if (evaluate) return evaluate(req, type) as RangerAccessResult;
      throw new Error("engine exposes no evaluate method");
    },
    isAllowed: access
      ? (req) => (access(req) as RangerAccessResult).isAllowed
      : (req) => (evaluate!(req, 0) as RangerAccessResult).isAllowed,
  };
  if (deltas) {
    engine.applyDeltas = (d) => {
      const out = deltas(d);
      return out && typeof out === "object" && out !== raw ? wrap(out as Obj) : engine;
    };
  }
  return engine;
}

/** Finds the engine's builder among its public exports. */
export async function loadGatehouse(): Promise<GatehouseApi | { missing: string }> {
  const mod = (await import("../../src/engine/index.ts")) as unknown as Obj;
  for (const name of ["buildEngine", "createEngine", "buildPolicyEngine", "createPolicyEngine"]) {
    if (typeof mod[name] === "function") {
      const fn = mod[name] as AnyFn;
      return { build: (input) => wrap(fn(input) as Obj), describe: `${name}()` };
    }
  }
  for (const name of ["PolicyEngine", "RangerPolicyEngine", "Engine"]) {
    const cls = mod[name] as (AnyFn & { build?: AnyFn }) | undefined;
    if (typeof cls === "function") {
      if (typeof cls.build === "function")
        return { build: (input) => wrap(cls.build!(input) as Obj), describe: `${name}.build()` };
      const Ctor = cls as unknown as new (input: EngineInput) => Obj;
      return { build: (input) => wrap(new Ctor(input)), describe: `new ${name}()` };
    }
  }
  return { missing: `src/engine/index.ts exports no engine builder yet (exports: ${Object.keys(mod).join(", ")})` };
}
