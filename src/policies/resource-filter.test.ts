import { describe, expect, it } from "vitest";
import type { RangerPolicyResources, RangerResourceDef } from "../engine/types.ts";
import { type MatchScope, matchesResourceSearch, resourceCovers } from "./resource-filter.ts";
import { resourceSignature } from "./signature.ts";

const defs = new Map<string, RangerResourceDef>(
  [
    ["catalog", 10],
    ["schema", 20],
    ["table", 30],
    ["column", 40],
  ].map(([name, level]) => [name as string, { name: name as string, level: level as number }]),
);

describe("resourceCovers", () => {
  it.each([
    [{ values: ["sales"] }, "SALES", true],
    [{ values: ["sal*"] }, "sales_eu", true],
    [{ values: ["s?les"] }, "sales", true],
    [{ values: ["sales"], isExcludes: true }, "sales", false],
    [{ values: ["sales"], isExcludes: true }, "hr", true],
    [{ values: ["/data"], isRecursive: true }, "/data/x/y", true],
    [{ values: ["a.b"] }, "axb", false],
  ])("%j covers %s: %s", (resource, value, expected) => {
    expect(resourceCovers(resource, value)).toBe(expected);
  });

  it("honours ignoreCase=false and wildCard=false", () => {
    expect(resourceCovers({ values: ["Sales"] }, "sales", { name: "x", matcherOptions: { ignoreCase: false } })).toBe(
      false,
    );
    expect(resourceCovers({ values: ["s*"] }, "sales", { name: "x", matcherOptions: { wildCard: "false" } })).toBe(
      false,
    );
  });
});

describe("matchesResourceSearch", () => {
  const schemaLevel = { catalog: { values: ["hive"] }, schema: { values: ["sales"] } };
  const tableLevel = { ...schemaLevel, table: { values: ["*"] } };
  const catalogLevel = { catalog: { values: ["*"] } };
  const search = { schema: "sales", table: "orders" };
  it.each([
    [schemaLevel, "self", false],
    [schemaLevel, "ancestor", true],
    [tableLevel, "self", true],
    [tableLevel, "ancestor", false],
    [catalogLevel, "self_or_ancestor", true],
    // a trailing `*` below the searched level keeps the policy at it (SELF_AND_ALL_DESCENDANTS)
    [{ ...tableLevel, table: { values: ["orders"] }, column: { values: ["*"] } }, "self", true],
    [{ ...schemaLevel, table: { values: ["*"] }, column: { values: ["*"] } }, "self", true],
    // a policy that only reaches below the searched level does not answer it
    [{ ...tableLevel, table: { values: ["orders"] }, column: { values: ["ssn"] } }, "self_or_ancestor", false],
    [{ ...tableLevel, table: { values: ["orders"] }, column: { values: ["*"], isExcludes: true } }, "self", false],
  ] as [RangerPolicyResources, MatchScope, boolean][])("%j in scope %s: %s", (resources, scope, expected) => {
    expect(matchesResourceSearch(resources, search, defs, scope)).toBe(expected);
  });
});

describe("resourceSignature", () => {
  const base = { policyType: 0, resources: { catalog: { values: ["b", "a"] } }, isEnabled: true };
  it("ignores value order and names, and differs by type, priority and enabled state", () => {
    const sig = resourceSignature(base, "g1");
    expect(resourceSignature({ ...base, name: "other", resources: { catalog: { values: ["a", "b"] } } }, "g2")).toBe(
      sig,
    );
    expect(resourceSignature({ ...base, policyType: 1 }, "g1")).not.toBe(sig);
    expect(resourceSignature({ ...base, policyPriority: 1 }, "g1")).not.toBe(sig);
    expect(resourceSignature({ ...base, isEnabled: false }, "g1")).not.toBe(
      resourceSignature({ ...base, isEnabled: false }, "g2"),
    );
  });
});
