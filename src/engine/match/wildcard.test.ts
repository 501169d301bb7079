import { describe, expect, it } from "vitest";
import { wildcardMatch, wildcardPrefixMatch } from "./wildcard.ts";

describe("wildcardMatch (FilenameUtils semantics)", () => {
  it("handles * and ? including separators", () => {
    expect(wildcardMatch("/a/b/c", "/a/*")).toBe(true);
    expect(wildcardMatch("abc", "a?c")).toBe(true);
    expect(wildcardMatch("ac", "a?c")).toBe(false);
    expect(wildcardMatch("", "*")).toBe(true);
    expect(wildcardMatch("xaybz", "*a*b*")).toBe(true);
  });
  it("answers prefix viability", () => {
    expect(wildcardPrefixMatch("ab", "abc*")).toBe(true);
    expect(wildcardPrefixMatch("ax", "abc*")).toBe(false);
  });
});
