import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { engineInputFromTestFile, runEngineFile, testFileTimeZone } from "./conformance/engine-format.ts";
import { readJsonFile } from "./conformance/load.ts";
import { newReport } from "./conformance/report.ts";
import { collectFiles, isEngineFile, skipReason } from "./conformance/run.ts";
import { PolicyEngine } from "./engine.ts";

const SHARED = join(import.meta.dirname, "../../../shared/conformance/ranger");
const OWN = join(import.meta.dirname, "../../test/corpus");
const UPSTREAM = join(OWN, "ranger-upstream");

/** Every engine-format file (policies, zones, tag policies, masks, row filters, deltas) with its root. */
function engineFiles(): { path: string; root: string; file: Record<string, unknown> }[] {
  const roots = [SHARED, join(UPSTREAM, "agents-common"), join(UPSTREAM, "hbase-agent")];
  const files = roots.flatMap((root) => collectFiles([root]).map((path) => ({ path, root })));
  files.push(
    ...collectFiles([OWN])
      .filter((path) => !path.startsWith(UPSTREAM))
      .map((path) => ({ path, root: OWN })),
  );
  return files.flatMap(({ path, root }) => {
    if (skipReason(path)) return [];
    const file = readJsonFile(path);
    return isEngineFile(file) ? [{ path, root, file: file as Record<string, unknown> }] : [];
  });
}

describe("an engine built in slices", () => {
  it("answers every case of the Ranger corpora exactly as the engine built at once, one policy per slice", () => {
    const files = engineFiles();
    expect(files.length).toBeGreaterThan(60);
    let pauses = 0;
    let cases = 0;
    for (const { path, root, file } of files) {
      const atOnce = newReport(path);
      runEngineFile(file, root, atOnce, path);
      const { input, options } = engineInputFromTestFile(file, root, testFileTimeZone(path));
      const steps = PolicyEngine.inSlices(input, options, 1);
      let step = steps.next();
      for (; !step.done; step = steps.next()) pauses++;
      const sliced = step.value;
      const inSlices = newReport(path);
      runEngineFile(file, root, inSlices, path, sliced);
      expect(inSlices, path).toEqual(atOnce);
      cases += atOnce.passed + atOnce.failed;
    }
    expect(cases).toBeGreaterThan(700);
    expect(pauses).toBeGreaterThan(300);
  });
});
