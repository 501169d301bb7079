/**
 * Differential test of the engine's simple-grant fast path (src/engine/policy/simple-grants.ts)
 * against its full evaluator, on every result field (evaluatedPoliciesCount, reason and
 * policyVersion included, which the property test does not compare). The same request is asked
 * twice: as is, and with `context.ALLACCESSTYPES` set to its own access type, which names the same
 * requested access types but always takes the full path. Only requests the fast path answered are
 * compared (the others ran the full path both times); the test also requires that it answered many.
 * Worlds come from the property test's generator, once as generated and once with the features
 * the fast path leaves to the full evaluator (deny items, exceptions, conditions, schedules, roles,
 * additional resources, deny-all-else) stripped, so that most requests qualify.
 */
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { createEngine, PolicyEngine } from "../../src/engine/index.ts";
import type { EngineInput, RangerAccessRequest, RangerPolicy, ServiceTags } from "../../src/engine/types.ts";
import { arbWorld } from "./generators.ts";

const SEED = 20261123;
const WORLDS = 600;

function simplified(input: EngineInput): EngineInput {
  const policies = (input.policies ?? []).map((p): RangerPolicy => {
    if ((p.policyType ?? 0) !== 0) return p;
    const {
      denyPolicyItems: _d,
      allowExceptions: _a,
      denyExceptions: _e,
      conditions: _c,
      validitySchedules: _v,
      additionalResources: _r,
      isDenyAllElse: _x,
      ...rest
    } = p;
    return {
      ...rest,
      policyItems: (p.policyItems ?? []).map(({ conditions: _ic, roles: _ir, ...item }) => item),
    };
  });
  return { ...input, policies };
}

/**
 * The world with a tag service: every third access request's resource is tagged `PII` (its values as
 * a literal resource), and a tag policy denies every access type of the service to group g1 on PII.
 * Requests on untagged resources may take the fast path (the tag index proves them untagged).
 */
function tagged(input: EngineInput, requests: readonly RangerAccessRequest[]): EngineInput {
  const sd = input.serviceDef;
  const component = sd.name ?? "";
  const serviceResources: ServiceTags["serviceResources"] = [];
  const resourceToTagIds: Record<string, number[]> = {};
  requests.forEach((r, i) => {
    if (i % 3 !== 0) return;
    const resourceElements: Record<string, { values: string[] }> = {};
    for (const [k, v] of Object.entries(r.resource.elements))
      if (typeof v === "string" && v !== "") resourceElements[k] = { values: [v] };
    if (Object.keys(resourceElements).length === 0) return;
    const id = serviceResources.length + 1;
    serviceResources.push({ id, serviceName: "fuzzdev", resourceElements });
    resourceToTagIds[String(id)] = [1];
  });
  const accesses = (sd.accessTypes ?? []).map((a) => ({ type: `${component}:${a.name}`, isAllowed: true }));
  return {
    ...input,
    tagPolicies: {
      serviceName: "fuzzdev_tag",
      serviceDef: {
        name: "tag",
        resources: [{ itemId: 1, name: "tag", level: 1, mandatory: true, matcherOptions: { wildCard: "false" } }],
        accessTypes: (sd.accessTypes ?? []).map((a, i) => ({ itemId: i + 1, name: `${component}:${a.name}` })),
      },
      policies: [
        {
          id: 9001,
          name: "pii",
          service: "fuzzdev_tag",
          isEnabled: true,
          resources: { tag: { values: ["PII"] } },
          denyPolicyItems: [{ accesses, groups: ["g1"] }],
        },
      ],
    },
    serviceTags: {
      serviceName: "fuzzdev",
      tagVersion: 1,
      tagDefinitions: { "1": { id: 1, name: "PII" } },
      tags: { "1": { id: 1, type: "PII" } },
      serviceResources,
      resourceToTagIds,
    },
  };
}

describe("simple-grant fast path vs full evaluation", () => {
  it("gives the full evaluator's result, field for field", { timeout: 120_000 }, () => {
    const spy = vi.spyOn(PolicyEngine.prototype, "preProcess");
    const worlds = fc.sample(arbWorld(100), { seed: SEED, numRuns: WORLDS });
    let fast = 0;
    let access = 0;
    let fastWithTags = 0;
    let taggedDenials = 0;
    const mismatches: string[] = [];
    for (const w of worlds) {
      const requests = w.cases.map((c) => c.request);
      const withTags = tagged(simplified(w.input), requests);
      for (const input of [w.input, simplified(w.input), withTags]) {
        const engine = createEngine(structuredClone(input));
        for (const c of w.cases) {
          if (c.policyType !== 0) continue;
          access++;
          const calls = spy.mock.calls.length;
          const got = engine.isAccessAllowed(structuredClone(c.request));
          if (input === withTags && got.policyId === 9001) taggedDenials++;
          if (spy.mock.calls.length !== calls) continue; // answered by the full path
          fast++;
          if (input === withTags) fastWithTags++;
          const req: RangerAccessRequest = structuredClone(c.request);
          req.context = { ...req.context, ALLACCESSTYPES: [req.accessType] };
          const full = engine.isAccessAllowed(req);
          if (JSON.stringify(got) !== JSON.stringify(full) && mismatches.length < 5)
            mismatches.push(
              `${JSON.stringify(c.request)}\n  fast ${JSON.stringify(got)}\n  full ${JSON.stringify(full)}`,
            );
        }
      }
    }
    spy.mockRestore();
    expect(mismatches, mismatches.join("\n")).toEqual([]);
    // the fast path must have been exercised on a good share of the access requests
    expect(fast).toBeGreaterThan(access / 10);
    // in the worlds with tags: untagged resources took the fast path (1,243 of 42,093 at this seed:
    // the small value pools put most requests on or under a tagged resource), tagged ones met the
    // tag policy
    expect(fastWithTags).toBeGreaterThan(500);
    expect(taggedDenials).toBeGreaterThan(50);
  });
});
