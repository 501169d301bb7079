import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkInput, MAX_DEPTH, obeysInputRules } from "./input-guard.ts";

// The guard walks a request twice only when it breaks a rule: first `obeysInputRules` (no field
// paths), then `checkInput` to name the field. The two must agree on every value, or a breach
// would pass unnamed (or a clean request be refused).

const awkwardString = fc.oneof(
  fc.string(),
  fc.constantFrom("\u0000", "a\u0000b", "\ud800", "x\udc00", "\ud83d\ude00", "é", ""),
);
const deepValue = (depth: number): unknown => (depth === 0 ? "leaf" : [deepValue(depth - 1)]);

describe("input rules: the quick walk agrees with the naming walk", () => {
  it("on generated JSON-like values with NUL characters, lone surrogates and awkward keys", () => {
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        awkwardString,
        fc.integer(),
        fc.constant(null),
        fc.array(tie("node"), { maxLength: 4 }),
        fc.dictionary(awkwardString, tie("node"), { maxKeys: 4 }),
      ),
    })).node;
    fc.assert(
      fc.property(value, (v) => {
        expect(obeysInputRules(v, 0)).toBe(checkInput(v, "body") === null);
      }),
      { numRuns: 2000 },
    );
  });

  it("at the depth limit and one beyond it", () => {
    for (const depth of [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH * 10]) {
      const v = deepValue(depth);
      expect(obeysInputRules(v, 0), String(depth)).toBe(checkInput(v, "body") === null);
    }
    expect(obeysInputRules(deepValue(MAX_DEPTH), 0)).toBe(true);
    expect(obeysInputRules(deepValue(MAX_DEPTH + 1), 0)).toBe(false);
  });
});
