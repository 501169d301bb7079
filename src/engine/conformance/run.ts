import { existsSync, readdirSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { runValiditySchedulerCases, type ValiditySchedulerCase } from "../schedule/conformance.ts";
import type { RangerServiceDef, ServicePolicies } from "../types.ts";
import { buildEngineFromServicePolicies, runAclFile } from "./acl-format.ts";
import { runEngineFile, runTests } from "./engine-format.ts";
import { readJsonFile, resolveRef } from "./load.ts";
import { runElementMatcherFile, runPolicyMatcherFile } from "./matcher-format.ts";
import { check, type FileReport, newReport } from "./report.ts";
import { isTagEnricherFile, runTagEnricherFile } from "./tag-enricher-format.ts";

/**
 * Runs Ranger-format test files of any supported kind and reports per-file counts. Classifies
 * each file by its shape, the way Ranger's separate JUnit classes are each pointed at theirs.
 */
type Json = Record<string, unknown>;

/** Permitted skips (issue 3), with the reason printed. */
export function skipReason(path: string): string | null {
  const name = basename(path);
  if (/(^|\/)gds\//.test(path)) return "governed data sharing (gds) is out of scope";
  if (name.startsWith("test_base_plugin_")) return "base-plugin refresh/deadlock test";
  if (name === "test_plugin_capability.json") return "plugin capability diff, not an engine test";
  if (name === "test_compare_policyengines.json") return "engine-comparison test";
  return null;
}

export function collectFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    const st = statSync(p);
    if (st.isDirectory()) {
      for (const e of readdirSync(p).sort()) walk(join(p, e));
    } else if (p.endsWith(".json")) out.push(p);
  };
  for (const p of paths) walk(p);
  return out;
}

export function runFile(path: string, root: string): FileReport {
  const report = newReport(path);
  const reason = skipReason(path);
  if (reason) {
    report.skipped = 1;
    report.skipReason = reason;
    return report;
  }
  let data: unknown;
  try {
    data = readJsonFile(path);
  } catch (e) {
    check(report, "(parse)", "valid JSON", String(e));
    return report;
  }
  try {
    dispatch(data, path, root, report);
  } catch (e) {
    check(report, "(run)", "no error", (e as Error).stack ?? String(e));
  }
  return report;
}

function dispatch(data: unknown, path: string, root: string, report: FileReport): void {
  if (Array.isArray(data)) {
    if (data.length > 0 && (data[0] as Json).validitySchedules !== undefined) {
      const results = runValiditySchedulerCases(data as ValiditySchedulerCase[]);
      for (const r of results) check(report, r.name, r.expected, r.got);
    }
    return;
  }
  const d = data as Json;
  if (isTagEnricherFile(d)) {
    runTagEnricherFile(d, report);
    return;
  }
  if (d.servicePolicies && Array.isArray(d.tests)) {
    // `TestInlinePolicyEvaluator`: a ServicePolicies download plus engine-format tests
    runTests(buildEngineFromServicePolicies(d.servicePolicies as ServicePolicies, root), d.tests as Json[], report);
    return;
  }
  if (isEngineFile(d)) {
    runEngineFile(d, root, report, path);
    return;
  }
  const cases = d.testCases as Json[] | undefined;
  if (Array.isArray(cases) && cases.length > 0) {
    const first = cases[0];
    if (first.servicePolicies) runAclFile(d, root, report);
    else if (first.resourceDef) runElementMatcherFile(d, report);
    else if (d.serviceDef && first.policyResources) {
      runPolicyMatcherFile(d, report);
      const hive = resolveRef(root, "/admin/service-defs/test-hive-servicedef.json");
      if (basename(path) === "test_defaultpolicyresourcematcher.json" && existsSync(hive))
        runPolicyMatcherFile(d, report, readJsonFile(hive) as RangerServiceDef);
    } else check(report, "(format)", "a supported test format", "unsupported testCases format");
    return;
  }
  if (d.tests || d.testsInfo) {
    check(report, "(format)", "a supported test format", "unsupported tests format");
  }
  // data file without test cases: zero cases
}

/**
 * Whether parsed JSON is an engine-format test file (Ranger's `TestPolicyEngine`: a service-def,
 * policies, tests), as opposed to the tag-enricher, inline-policy, matcher and ACL formats.
 */
export function isEngineFile(data: unknown): boolean {
  if (Array.isArray(data) || typeof data !== "object" || data === null) return false;
  const d = data as Json;
  const inline = Boolean(d.servicePolicies) && Array.isArray(d.tests);
  return !isTagEnricherFile(d) && !inline && Boolean(d.serviceDef) && Boolean(d.tests || d.testsInfo);
}

export interface RunSummary {
  readonly reports: FileReport[];
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}

export function runAll(paths: readonly string[], root: string): RunSummary {
  const reports = collectFiles(paths).map((f) => runFile(f, root));
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const r of reports) {
    passed += r.passed;
    failed += r.failed;
    skipped += r.skipped;
  }
  return { reports, passed, failed, skipped };
}

/** The summary line: `N passed, M failed` plus `, K skipped` when some were. */
export function summaryLine(s: RunSummary): string {
  return `${s.passed} passed, ${s.failed} failed${s.skipped > 0 ? `, ${s.skipped} skipped` : ""}`;
}
