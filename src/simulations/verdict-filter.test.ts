import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RangerPolicy, RangerPolicyResources } from "../engine/types.ts";
import { verdictResourceFilter, wildcardMatch } from "./no-new-access.ts";

/**
 * `verdictResourceFilter` is asked once per replayed request, so it is compiled (literal sets, a
 * lone `*` as no test, a guard on the keys where every spec lists literals only). On generated
 * policies and resources it must answer exactly as the plain rule: the resource has the keys of
 * one of the changed policies' specs, and each of its values matches that spec's values there
 * (an excluded list may match anything).
 */

const VALUES = ["a", "b", "ab", "*", "a*", "?b", ""];
const value = fc.constantFrom(...VALUES.filter((v) => v !== ""));
const specArb: fc.Arbitrary<RangerPolicyResources> = fc
  .record(
    {
      db: fc.record({ values: fc.array(value, { minLength: 1, maxLength: 3 }), isExcludes: fc.boolean() }),
      table: fc.record({ values: fc.array(value, { minLength: 1, maxLength: 3 }), isExcludes: fc.boolean() }),
      column: fc.record({ values: fc.array(value, { minLength: 1, maxLength: 2 }), isExcludes: fc.boolean() }),
    },
    { requiredKeys: ["db"] },
  )
  .map((r) => r as RangerPolicyResources);
const policyArb = fc.record({ resources: specArb, extra: fc.array(specArb, { maxLength: 2 }) });
const resourceArb = fc
  .record(
    {
      db: fc.constantFrom("a", "b", "ab", "bb", "x"),
      table: fc.oneof(fc.constantFrom("a", "b", "ab", "bb", "x"), fc.constant(["a", "b"])),
      column: fc.constantFrom("a", "ab", "zb"),
    },
    { requiredKeys: [] },
  )
  .map((r) => r as Record<string, string | string[]>);

function plainRule(specs: RangerPolicyResources[], resource: Record<string, string | string[]>): boolean {
  return specs.some((spec) => {
    const keys = Object.keys(spec);
    if (keys.length !== Object.keys(resource).length) return false;
    return keys.every((key) => {
      const v = resource[key];
      const r = spec[key];
      if (typeof v !== "string" || r === undefined) return false;
      return r.isExcludes === true || (r.values ?? []).some((p) => wildcardMatch(p, v));
    });
  });
}

describe("the verdict's resource filter", () => {
  it("answers as the plain rule on generated policies and resources", () => {
    fc.assert(
      fc.property(
        fc.array(policyArb, { maxLength: 5 }),
        fc.array(resourceArb, { minLength: 1, maxLength: 20 }),
        (policies, resources) => {
          const changed = policies.map(
            (p, i): RangerPolicy => ({
              id: i + 1,
              name: `p${i}`,
              resources: p.resources,
              additionalResources: p.extra,
              policyItems: [],
            }),
          );
          const filter = verdictResourceFilter(changed, undefined);
          const specs = policies.flatMap((p) => [p.resources, ...p.extra]);
          for (const r of resources) expect(filter(r)).toBe(plainRule(specs, r));
        },
      ),
      { numRuns: 500 },
    );
  });
});
