/** Outcome of running one or more Ranger test files. */
export interface CaseFailure {
  readonly file: string;
  readonly test: string;
  readonly expected: unknown;
  readonly got: unknown;
}

export interface FileReport {
  readonly file: string;
  passed: number;
  failed: number;
  skipped: number;
  skipReason?: string;
  readonly failures: CaseFailure[];
}

export function newReport(file: string): FileReport {
  return { file, passed: 0, failed: 0, skipped: 0, failures: [] };
}

/** Records one assertion set: passes when `expected` and `got` render to the same JSON. */
export function check(report: FileReport, test: string, expected: unknown, got: unknown): void {
  if (stableJson(expected) === stableJson(got)) report.passed++;
  else {
    report.failed++;
    report.failures.push({ file: report.file, test, expected, got });
  }
}

export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, val) => {
    if (val instanceof Set) return [...val].sort();
    if (val && typeof val === "object" && !Array.isArray(val)) {
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(val).sort()) out[k] = (val as Record<string, unknown>)[k];
      return out;
    }
    return val;
  });
}
