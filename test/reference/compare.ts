/**
 * Runs one generated world through the optimised engine (public API only) and the naive reference,
 * and lists every disagreement on the fields Ranger's own test harness asserts (isAllowed,
 * isAudited, policyId; maskType/maskedValue/maskCondition for masks; filterExpr for row filters)
 * plus isAccessDetermined for access requests.
 */
import { type GatehouseApi, loadGatehouse } from "../../bench/engine/gatehouse.ts";
import type { RangerAccessResult } from "../../src/engine/types.ts";
import type { World, WorldCase } from "./generators.ts";
import { type ReferenceResult, referenceEvaluate } from "./reference-evaluator.ts";

export interface Disagreement {
  world: World;
  case: WorldCase;
  fields: string[];
  engine: Partial<RangerAccessResult>;
  reference: ReferenceResult;
  /**
   * The engine is more permissive than the reference: an access it allows that the reference
   * denies, or a mask or row filter the reference applies and the engine does not. The property
   * "the engine never allows where the reference denies" is that no disagreement is fail-open.
   */
  failOpen: boolean;
}

/** Whether the engine's answer opens what the reference's keeps closed (see Disagreement#failOpen). */
export function isFailOpen(
  policyType: number,
  engine: Partial<RangerAccessResult>,
  reference: ReferenceResult,
): boolean {
  if (policyType === 0) return engine.isAllowed === true && !reference.isAllowed;
  return reference.isAllowed && engine.isAllowed !== true;
}

const loaded = await loadGatehouse();
if ("missing" in loaded) throw new Error(loaded.missing);
const api: GatehouseApi = loaded;

function fieldsFor(policyType: number): (keyof ReferenceResult)[] {
  if (policyType === 1) return ["isAllowed", "policyId", "isAudited", "maskType", "maskedValue", "maskCondition"];
  if (policyType === 2) return ["isAllowed", "policyId", "isAudited", "filterExpr"];
  return ["isAllowed", "isAccessDetermined", "policyId", "isAudited"];
}

/** Compares every case of a world; returns the disagreements (empty when the engine agrees). */
export function compareWorld(world: World): Disagreement[] {
  const out: Disagreement[] = [];
  const engine = api.build(structuredClone(world.input));
  for (const c of world.cases) {
    const ref = referenceEvaluate(world.input, structuredClone(c.request), c.policyType);
    const got = engine.evaluate(structuredClone(c.request), c.policyType);
    const diff: string[] = [];
    for (const f of fieldsFor(c.policyType)) {
      const a = (got as unknown as Record<string, unknown>)[f] ?? undefined;
      const b = (ref as unknown as Record<string, unknown>)[f] ?? undefined;
      if (a === b) continue;
      // `_any`: several allowed per-type entries, any of their policies is a faithful policyId
      if (f === "policyId" && ref.acceptablePolicyIds?.includes(a as number)) continue;
      diff.push(f);
    }
    if (diff.length > 0) {
      const picked: Partial<RangerAccessResult> = {};
      for (const f of fieldsFor(c.policyType))
        (picked as Record<string, unknown>)[f] = (got as unknown as Record<string, unknown>)[f];
      out.push({
        world,
        case: c,
        fields: diff,
        engine: picked,
        reference: ref,
        failOpen: isFailOpen(c.policyType, got, ref),
      });
    }
  }
  return out;
}

/** Short human-readable line for one disagreement. */
export function describe(d: Disagreement): string {
  const show = (r: Record<string, unknown>) => d.fields.map((f) => `${f}=${JSON.stringify(r[f])}`).join(" ");
  return `type ${d.case.policyType} ${JSON.stringify(d.case.request)}: engine ${show(d.engine as Record<string, unknown>)} / reference ${show(d.reference as unknown as Record<string, unknown>)}`;
}
