import { describe, expect, it } from "vitest";
import type { RangerResourceDef, ResourceElementMatchingScope } from "../types.ts";
import { ElementMatcher, STATIC_ENV } from "./element-matcher.ts";
import { WorkBudgetExceeded, workBudget } from "./work-budget.ts";

const DEF: RangerResourceDef = {
  name: "catalog",
  matcher: "org.apache.ranger.plugin.resourcematcher.RangerDefaultResourceMatcher",
  matcherOptions: { wildCard: "true", ignoreCase: "true", quotedCaseSensitive: "true" },
};

/** A small deterministic generator, so a failure names a reproducible seed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const ALPHABET = ["a", "B", "c", "_", "/"];
function word(next: () => number, max = 4): string {
  let out = "";
  const n = 1 + Math.floor(next() * max);
  for (let i = 0; i < n; i++) out += ALPHABET[Math.floor(next() * ALPHABET.length)];
  return out;
}

/** A policy value of every kind the matcher tells apart: literal, `x*`, `*x`, general wildcard, quoted, token. */
function policyValue(next: () => number): string {
  const w = word(next);
  switch (Math.floor(next() * 7)) {
    case 0:
      return `${w}*`;
    case 1:
      return `*${w}`;
    case 2:
      return `${w}?${word(next, 2)}`;
    case 3:
      return `"${w}"`;
    case 4:
      return `${w}*${word(next, 2)}*`;
    case 5:
      return `{USER}${w}`;
    default:
      return w;
  }
}

describe("element matcher over many values", () => {
  // The literal index (INDEX_MIN_VALUES and more) must answer exactly what trying each value does:
  // a matcher of one value never uses it, so "some one-value matcher matches" is the reference.
  it("answers every scope exactly as its values one by one", () => {
    const scopes: (ResourceElementMatchingScope | undefined)[] = [undefined, "SELF", "SELF_OR_PREFIX", "SELF_OR_CHILD"];
    const env = { ...STATIC_ENV, token: (name: string) => (name === "USER" ? "aB" : undefined) };
    let compared = 0;
    const wrong: string[] = [];
    for (let seed = 1; seed <= 100; seed++) {
      const next = random(seed);
      const values = Array.from({ length: 8 + Math.floor(next() * 40) }, () => policyValue(next));
      const many = new ElementMatcher(DEF, { values });
      const ones = values.map((v) => new ElementMatcher(DEF, { values: [v] }));
      for (let q = 0; q < 50; q++) {
        const input = next() < 0.5 ? word(next, 6) : (values[Math.floor(next() * values.length)] as string);
        for (const scope of scopes) {
          const expected = ones.some((m) => m.isMatch(input, scope, env));
          if (many.isMatch(input, scope, env) !== expected) wrong.push(`seed ${seed}: \`${input}\` ${scope ?? ""}`);
          compared++;
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(compared).toBe(100 * 50 * 4);
  });

  it("charges a collection's values to the request's budget, and throws before going over", () => {
    const values = Array.from({ length: 20 }, (_, i) => `c?t${i}`);
    const m = new ElementMatcher(DEF, { values });
    // none of these values is a literal: each request value tries all 20, plus the lookup
    expect(m.costPerValue).toBe(21);
    const budget = workBudget(21 * 10);
    const env = { ...STATIC_ENV, budget };
    expect(
      m.isMatch(
        Array.from({ length: 10 }, (_, i) => `x${i}`),
        undefined,
        env,
      ),
    ).toBe(false);
    expect(budget.left).toBe(0);
    expect(() => m.isMatch(["cat1"], undefined, env)).toThrow(WorkBudgetExceeded);
    // a literal list costs one unit per request value, whatever its length
    const literals = new ElementMatcher(DEF, { values: Array.from({ length: 50_000 }, (_, i) => `catalog_${i}`) });
    expect(literals.costPerValue).toBe(1);
    const wide = workBudget(1000);
    const request = Array.from({ length: 1000 }, (_, i) => `other_${i}`);
    request[999] = "CATALOG_49999";
    expect(literals.isMatch(request, undefined, { ...STATIC_ENV, budget: wide })).toBe(true);
    expect(wide.left).toBe(0);
  });
});
