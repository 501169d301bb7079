/**
 * Gatehouse's own Ranger-format cases from the property test (test/corpus/test_policyengine_fuzz_*.json),
 * checked harder than the conformance runner does. The runner asserts what Ranger's TestPolicyEngine
 * asserts, which for access results is only isAllowed and isAudited (semantics §5.1); most of these
 * cases are about which policy decides, so here the engine's policyId must match the file too, and
 * the naive reference evaluator must give the same answer (the file records Ranger's behaviour as
 * decided in docs/conformance.md, "Property test").
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildEngineFromTestFile, toRequest } from "../../src/engine/conformance/engine-format.ts";
import type { EngineInput, RangerAccessResult } from "../../src/engine/types.ts";
import { referenceEvaluate } from "./reference-evaluator.ts";

const DIR = join(import.meta.dirname, "../corpus");
const FILES = readdirSync(DIR).filter((f) => /^test_policyengine_fuzz_.*\.json$/.test(f));

type Json = Record<string, unknown>;

describe("own fuzz corpus cases (policyId asserted)", () => {
  it("has cases", () => expect(FILES.length).toBeGreaterThan(0));
  for (const file of FILES) {
    const data = JSON.parse(readFileSync(join(DIR, file), "utf8")) as Json;
    const input: EngineInput = {
      serviceName: data.serviceName as string,
      serviceDef: data.serviceDef as EngineInput["serviceDef"],
      policies: data.policies as EngineInput["policies"],
      serviceConfig: {
        superUsers: (data.superUsers as string[]) ?? [],
        superGroups: (data.superGroups as string[]) ?? [],
      },
    };
    for (const t of data.tests as Json[]) {
      it(`${file} :: ${t.name}`, () => {
        const engine = buildEngineFromTestFile(data, DIR, "UTC");
        const req = toRequest(t);
        const kind = t.result ? 0 : t.dataMaskResult ? 1 : 2;
        const exp = (t.result ?? t.dataMaskResult ?? t.rowFilterResult) as Json;
        const got: RangerAccessResult =
          kind === 0
            ? engine.isAccessAllowed(req)
            : kind === 1
              ? engine.evaluateDataMask(req)
              : engine.evaluateRowFilter(req);
        const ref = referenceEvaluate(input, toRequest(t), kind);
        expect(got.policyId, "engine policyId").toBe(exp.policyId);
        const refOk = ref.policyId === exp.policyId || (ref.acceptablePolicyIds ?? []).includes(exp.policyId as number);
        expect(refOk, `reference policyId ${ref.policyId}`).toBe(true);
        if (kind === 0) {
          expect({ isAllowed: got.isAllowed, isAudited: got.isAudited }).toEqual({
            isAllowed: exp.isAllowed,
            isAudited: exp.isAudited,
          });
          expect({ isAllowed: ref.isAllowed, isAudited: ref.isAudited }).toEqual({
            isAllowed: exp.isAllowed,
            isAudited: exp.isAudited,
          });
        }
      });
    }
  }
});
