import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RangerServiceDef } from "../../engine/index.ts";
import { parseResourceName, parseValue, templatesOf } from "./resource-names.ts";

// `parseResourceName` cuts a name without escapes at its separators (the hot path of every PDP
// request) and reads the rest with `parseValue`, Ranger's character loop. The two must agree on
// every name without a backslash: same elements, or the same error.

/** A def with one chain of `depth` resources (`r0` → `r1` → …) and the given separator option. */
function chainDef(depth: number, separator: string | undefined): RangerServiceDef {
  const resources = Array.from({ length: depth }, (_, i) => ({
    name: `r${i}`,
    ...(i > 0 ? { parent: `r${i - 1}` } : {}),
  }));
  return {
    name: "chain",
    resources,
    ...(separator === undefined ? {} : { options: { rrnResourceSepChar: separator } }),
  } as unknown as RangerServiceDef;
}

const outcome = (f: () => Record<string, string>) => {
  try {
    return { elements: f() };
  } catch (err) {
    return { error: (err as Error).message };
  }
};

describe("Ranger resource names", () => {
  it("the split path agrees with Ranger's character loop on names without escapes", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.constantFrom(undefined, "/", ".", "|", ":", "#"),
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.constantFrom("a", "b", "é", " ", "/", ".", "|", ":", "#", "*"), { maxLength: 12 }),
        (depth, separator, level, chars) => {
          const def = chainDef(depth, separator);
          const type = `r${Math.min(level, depth - 1)}`;
          const value = chars.join("");
          const template = templatesOf(def).get(type);
          if (!template) throw new Error(type);
          const reference = outcome(() => {
            if (value.trim() === "") throw new Error("AUTHZ-400-00-016: invalid resource - empty");
            const values = parseValue(template, value);
            return Object.fromEntries(values.map((v, i) => [template.levels[i], v]));
          });
          expect(outcome(() => parseResourceName(def, `${type}:${value}`))).toEqual(reference);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it("reads escapes, keeps the last level whole and names the template of a short value", () => {
    const def = chainDef(3, undefined);
    expect(parseResourceName(def, "r2:a/b/c/d")).toEqual({ r0: "a", r1: "b", r2: "c/d" });
    expect(parseResourceName(def, "r2:a\\/x/b/c")).toEqual({ r0: "a/x", r1: "b", r2: "c" });
    expect(parseResourceName(def, "r1:a/")).toEqual({ r0: "a", r1: "" });
    expect(outcome(() => parseResourceName(def, "r2:a/b"))).toEqual({
      error: 'AUTHZ-400-00-017: invalid resource "a/b" - does not match template "r0/r1/r2"',
    });
    expect(outcome(() => parseResourceName(def, "r9:a"))).toEqual({
      error: "AUTHZ-400-00-009: r9: resource type not found",
    });
    expect(outcome(() => parseResourceName(def, "r0: "))).toEqual({
      error: "AUTHZ-400-00-016: invalid resource - empty",
    });
  });
});
