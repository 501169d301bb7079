import { Command } from "commander";

/**
 * `gatehouse test [--root DIR] FILE...`: runs Ranger-format test files (directories are walked
 * for *.json) through the engine and prints one line per failing case, then `N passed, M failed`.
 * Exit code 0 only when nothing failed.
 */
export function testCommand(): Command {
  return new Command("test")
    .description("run Ranger-format policy-engine test files against the Gatehouse engine")
    .option("--root <dir>", "corpus root for references such as /policyengine/resourceTags.json", ".")
    .option("-v, --verbose", "print per-file counts")
    .argument("<files...>", "test files or directories")
    .action(async (files: string[], opts: { root: string; verbose?: boolean }) => {
      // the engine loads only when this command runs, not for every `gatehouse` command
      const { stableJson } = await import("../engine/conformance/report.ts");
      const { runAll, summaryLine } = await import("../engine/conformance/run.ts");
      const summary = runAll(files, opts.root);
      for (const r of summary.reports) {
        if (r.skipReason) console.log(`SKIP ${r.file}: ${r.skipReason}`);
        for (const f of r.failures)
          console.log(`FAIL ${f.file} :: ${f.test} :: expected ${stableJson(f.expected)} got ${stableJson(f.got)}`);
        if (opts.verbose) console.log(`     ${r.file}: ${r.passed} passed, ${r.failed} failed`);
      }
      console.log(summaryLine(summary));
      process.exitCode = summary.failed === 0 ? 0 : 1;
    });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  testCommand().parseAsync(["node", "test", ...process.argv.slice(2)]);
}
