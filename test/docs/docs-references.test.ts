import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { describe, expect, it } from "vitest";
import { markdownFiles, ROOT, read } from "./markdown.ts";

/** Top-level folders a document cites files in (`src/decisions/fast-lane.ts`, `docs/engine.md`). */
const CITED = /(?<![\w./-])((?:src|docs|test|bench|scripts|migrations|bin)\/[A-Za-z0-9_./*{}<>-]*[A-Za-z0-9_/*}>-])/g;
/** `[text](target)` links. */
const LINK = /\]\(([^)\s]+)\)/g;

/** Every `.ts` file under `dir`, tests excluded. */
function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.includes("test-support"))
    .map((f) => join(dir, f));
}

describe("documents cite what exists", () => {
  it("every relative link and every cited file path in README.md and docs/*.md exists", () => {
    const missing: string[] = [];
    for (const file of markdownFiles()) {
      const text = read(file);
      for (const [, target] of text.matchAll(LINK)) {
        if (!target || /^(https?:|mailto:|#)/.test(target)) continue;
        const path = normalize(join(dirname(file), target.split("#")[0] as string));
        if (!existsSync(join(ROOT, path))) missing.push(`${file}: link ${target}`);
      }
      for (const [, cited] of text.matchAll(CITED)) {
        if (!cited || /[*{<]/.test(cited)) continue;
        if (!existsSync(join(ROOT, cited))) missing.push(`${file}: ${cited}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("every GATEHOUSE_* variable the code reads is in docs/config.md", () => {
    const documented = read("docs/config.md");
    const read_ = new Map<string, string>();
    for (const file of sources("src")) {
      if (!statSync(join(ROOT, file)).isFile()) continue;
      for (const [name] of readFileSync(join(ROOT, file), "utf8").matchAll(/\bGATEHOUSE_[A-Z0-9_]*[A-Z0-9]\b/g))
        if (!read_.has(name)) read_.set(name, file);
    }
    expect(read_.size).toBeGreaterThan(5);
    const undocumented = [...read_]
      .filter(([name]) => !documented.includes(`\`${name}\``))
      .map(([n, f]) => `${n} (${f})`);
    expect(undocumented).toEqual([]);
  });
});
