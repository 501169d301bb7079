import { describe, expect, it } from "vitest";
import { OverlayRecord } from "./overlay-record.ts";

describe("OverlayRecord", () => {
  it("reads the base through edits, never writing the base", () => {
    const base: Record<string, number | null> = { a: 1, b: 2, n: null };
    const r = new OverlayRecord<number>(base);
    expect([r.get("a"), r.get("n"), r.get("x")]).toEqual([1, undefined, undefined]);
    r.set("a", 10);
    r.set("x", 3);
    r.delete("b");
    expect([r.get("a"), r.get("b"), r.get("x")]).toEqual([10, undefined, 3]);
    expect(r.keys().sort()).toEqual(["a", "x"]);
    expect(base).toEqual({ a: 1, b: 2, n: null });
    expect(r.isEmpty()).toBe(false);
    r.delete("a");
    r.delete("x");
    expect(r.isEmpty()).toBe(true);
    r.set("b", 5);
    expect(r.isEmpty()).toBe(false);
    r.reset({});
    expect([r.get("b"), r.isEmpty()]).toEqual([undefined, true]);
  });

  it("keeps emptiness right after many deletions at the front (then by a kept count)", () => {
    const base: Record<string, number> = {};
    for (let i = 0; i < 3000; i++) base[String(i)] = i;
    const r = new OverlayRecord<number>(base);
    for (let i = 0; i < 2000; i++) r.delete(String(i));
    expect(r.isEmpty()).toBe(false);
    for (let i = 2000; i < 2999; i++) r.delete(String(i));
    expect(r.isEmpty()).toBe(false);
    r.delete("2999");
    expect(r.isEmpty()).toBe(true);
    r.set("7", 7);
    expect(r.isEmpty()).toBe(false);
    expect(r.keys()).toEqual(["7"]);
  });
});
