import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

/** The engine is pure: nothing under src/engine (except the conformance harness and tests) imports outside it but jsep. */
function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (p.endsWith(".ts") && !p.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

describe("engine purity", () => {
  it("imports only engine files and jsep", () => {
    const root = join(import.meta.dirname);
    const bad: string[] = [];
    for (const f of files(root)) {
      const rel = relative(root, f);
      if (rel.startsWith("conformance")) continue;
      const text = readFileSync(f, "utf8");
      for (const m of text.matchAll(/(?:import|export)\s[^;]*?from\s+"([^"]+)"/g)) {
        const spec = m[1];
        if (spec === "jsep" || spec.startsWith("jsep/")) continue;
        if (!spec.startsWith(".")) {
          bad.push(`${rel}: ${spec}`);
          continue;
        }
        const target = relative(root, join(f, "..", spec));
        if (target.startsWith("..") || target.startsWith("conformance")) bad.push(`${rel}: ${spec}`);
      }
      if (/\bawait\s/.test(text.replace(/\/\/.*|\/\*[\s\S]*?\*\//g, ""))) bad.push(`${rel}: await`);
    }
    expect(bad).toEqual([]);
  });
});
