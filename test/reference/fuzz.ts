/**
 * `npm run fuzz:engine [-- --cases N] [--seed S] [--out DIR]`: the property test at scale (default
 * 1,000,000 cases = 5,000 worlds × 200 requests, fresh seed unless given). Prints progress, a
 * summary of disagreements grouped by (policy type, fields), one minimized example per group, and
 * writes each group's minimized example as a Ranger-format engine test file into --out (default
 * .tmp/fuzz, not committed); confirmed engine bugs are then copied by hand into test/corpus/.
 * Exit code 1 when any disagreement was found.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { compareWorld, type Disagreement, describe } from "./compare.ts";
import { arbWorld } from "./generators.ts";
import { minimize, toRangerTestFile } from "./minimize.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const totalCases = Number(opt("--cases", "1000000"));
const seed = Number(opt("--seed", String(Date.now() % 2 ** 31)));
const outDir = opt("--out", ".tmp/fuzz");
const PER_WORLD = 200;
const BATCH = 100;

const groups = new Map<string, { count: number; first: Disagreement }>();
let cases = 0;
let disagreements = 0;
/** disagreements where the engine allows and the reference denies (or drops a mask/filter): never acceptable */
let failOpen = 0;
const t0 = Date.now();
for (let batch = 0; cases < totalCases; batch++) {
  const worlds = fc.sample(arbWorld(PER_WORLD), { seed: seed + batch, numRuns: BATCH });
  for (const w of worlds) {
    if (cases >= totalCases) break;
    cases += w.cases.length;
    for (const d of compareWorld(w)) {
      disagreements++;
      if (d.failOpen) failOpen++;
      const key = `type ${d.case.policyType} ${d.case.request.accessType === "" || d.case.request.accessType === "_any" ? "_any" : d.case.request.accessType === "_admin" ? "_admin" : "access"}: ${d.fields.join(",")}${d.failOpen ? " FAIL-OPEN" : ""}`;
      const g = groups.get(key);
      if (g) g.count++;
      else groups.set(key, { count: 1, first: d });
    }
  }
  process.stderr.write(
    `\r${cases.toLocaleString("en-US")} cases, ${disagreements} disagreements, ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
}
process.stderr.write("\n");
console.log(
  `seed ${seed}: ${cases} cases, ${disagreements} disagreements (${((100 * disagreements) / cases).toFixed(3)}%), ${failOpen} fail-open (engine allows where the reference denies)`,
);
mkdirSync(outDir, { recursive: true });
let i = 0;
for (const [key, g] of [...groups].sort((a, b) => b[1].count - a[1].count)) {
  const m = minimize(g.first);
  console.log(`\n[${g.count}] ${key}\n  ${describe(m)}`);
  const file = join(outDir, `fuzz_case_${++i}.json`);
  writeFileSync(file, `${JSON.stringify(toRangerTestFile(m, `fuzz ${key}`), null, 2)}\n`);
  console.log(`  → ${file}`);
}
process.exitCode = disagreements > 0 ? 1 : 0;
