import type { RangerPolicyResources, RangerServiceResource } from "../types.ts";

/**
 * Whether a service resource sent in a tag delta differs from the one held, as Ranger's `TagStore`
 * decides: by signature when the delta carries one, else by its elements (key order and absent
 * flags or values do not count). The engine's tag index and the held `ServiceTags` document both
 * apply deltas, and must agree on this.
 */
export function resourceChanged(
  held: { signature: string | undefined; elements: RangerPolicyResources | undefined },
  sr: RangerServiceResource,
): boolean {
  if (sr.resourceSignature) return sr.resourceSignature !== held.signature;
  return JSON.stringify(canonical(sr.resourceElements)) !== JSON.stringify(canonical(held.elements));
}

function canonical(elements: RangerPolicyResources | undefined): unknown {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(elements ?? {}).sort()) {
    const e = (elements as RangerPolicyResources)[k];
    out[k] = { values: e?.values ?? [], isExcludes: e?.isExcludes === true, isRecursive: e?.isRecursive === true };
  }
  return out;
}

/** Whether a record has any own enumerable key (without building the key list). */
export function hasKeys(record: object | undefined): boolean {
  for (const _ in record ?? {}) return true;
  return false;
}
