/**
 * What a one-resource tag change costs the engine: `applyServiceTags` with a Ranger tag delta
 * against a full rebuild (`createEngine`) of the same engine, at N tagged resources.
 *   node bench/engine/tag-delta.ts [N=10000,100000] [rebuilds=5] [deltas=60]
 * The world is docs/tags.md's measurement: one trino policy, a PII deny tag policy, N tagged tables
 * over 50 schemas, each table carrying its own tag (Gatehouse's native model: a tag per resource).
 * Figures are CPU time (`process.cpuUsage`, user + system), which a shared machine keeps more
 * honest than wall clock; each delta is timed with the first decision after it (on the changed
 * table), so lazy work is counted. Every delta is checked: the changed table's decision must flip
 * as its tags say. `diffCpuMs` is `diffServiceTags` between the document and a copy with one table
 * retagged (what a caller without a tag change log pays to find the delta, reading aside).
 */
import { createEngine, diffServiceTags } from "../../src/engine/index.ts";
import type { EngineInput, RangerAccessRequest, RangerTag, ServiceTags } from "../../src/engine/types.ts";
import { trinoServiceDef } from "./workload.ts";

const sizes = (process.argv[2] ?? "10000,100000").split(",").map(Number);
const rebuilds = Number(process.argv[3] ?? 5);
const deltas = Number(process.argv[4] ?? 60);

const TYPES = ["PII", "PCI", "INTERNAL", "FINANCE"];

function table(i: number) {
  return {
    catalog: { values: ["hive"] },
    schema: { values: [`s${i % 50}`] },
    table: { values: [`t${i}`] },
  };
}

function world(n: number): EngineInput {
  const serviceTags: ServiceTags = {
    serviceName: "dev_trino",
    tagVersion: 1,
    isDelta: false,
    tags: {},
    serviceResources: [],
    resourceToTagIds: {},
  };
  const tags = serviceTags.tags as Record<string, RangerTag>;
  const mappings = serviceTags.resourceToTagIds as Record<string, number[]>;
  for (let i = 0; i < n; i++) {
    // resource id i+1, tag id i+1; every fourth table is PII
    tags[String(i + 1)] = { id: i + 1, type: TYPES[i % 4], attributes: { level: i % 3 === 0 ? "high" : "low" } };
    serviceTags.serviceResources?.push({ id: i + 1, resourceElements: table(i) });
    mappings[String(i + 1)] = [i + 1];
  }
  return {
    serviceName: "dev_trino",
    serviceDef: trinoServiceDef(),
    policies: [
      {
        id: 1,
        name: "all",
        isEnabled: true,
        resources: { catalog: { values: ["hive"] }, schema: { values: ["*"] }, table: { values: ["*"] } },
        policyItems: [{ groups: ["analysts"], accesses: [{ type: "select", isAllowed: true }] }],
      },
    ],
    tagPolicies: {
      serviceName: "dev_tag",
      serviceDef: {
        name: "tag",
        resources: [{ name: "tag", level: 1, matcherOptions: { wildCard: "false", ignoreCase: "false" } }],
        accessTypes: [{ name: "trino:select" }],
      },
      policies: [
        {
          id: 2,
          name: "no-pii",
          isEnabled: true,
          resources: { tag: { values: ["PII"] } },
          denyPolicyItems: [{ groups: ["analysts"], accesses: [{ type: "trino:select", isAllowed: true }] }],
        },
      ],
    },
    serviceTags,
  };
}

function request(i: number): RangerAccessRequest {
  return {
    resource: { elements: { catalog: "hive", schema: `s${i % 50}`, table: `t${i}` } },
    accessType: "select",
    user: "alice",
    userGroups: ["analysts"],
  };
}

function cpuMs(fn: () => void): number {
  const c0 = process.cpuUsage();
  fn();
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1000;
}

function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1] };
}

const round = (x: number) => Math.round(x * 1000) / 1000;

for (const n of sizes) {
  const input = world(n);
  // full rebuild (what every tag change costs without deltas)
  const rebuildMs: number[] = [];
  let engine = createEngine(input);
  for (let k = 0; k < rebuilds; k++) {
    rebuildMs.push(
      cpuMs(() => {
        engine = createEngine(input);
        engine.isAccessAllowed(request(0));
      }),
    );
  }
  // warm the engine a little, as a live one is
  for (let i = 0; i < 2000; i++) engine.isAccessAllowed(request(i % n));
  let mismatches = 0;
  let nextId = n + 1;
  const kinds = { tag: [] as number[], retag: [] as number[], untag: [] as number[] };
  for (let d = 0; d < deltas; d++) {
    const kind = (["tag", "retag", "untag"] as const)[d % 3];
    // the table: a new one (tag), an existing one (retag: its tag replaced by a PII tag), or untag
    const i = kind === "tag" ? nextId - 1 : Math.floor(((d * 7919) % n) / 4) * 4 + 1; // never PII before
    const id = kind === "tag" ? nextId++ : i + 1;
    const tagId = nextId++ + 10 * n;
    let delta: ServiceTags;
    if (kind === "untag")
      delta = { isDelta: true, tagsChangeExtent: "SERVICE_RESOURCE", serviceResources: [{ id, resourceElements: {} }] };
    else
      delta = {
        isDelta: true,
        tagsChangeExtent: "SERVICE_RESOURCE",
        tags: { [String(tagId)]: { id: tagId, type: "PII" } },
        serviceResources: [{ id, resourceElements: table(i) }],
        resourceToTagIds: { [String(id)]: [tagId] },
      };
    let allowed = true;
    kinds[kind].push(
      cpuMs(() => {
        engine.applyServiceTags(delta);
        allowed = engine.isAccessAllowed(request(i)).isAllowed;
      }),
    );
    if (allowed !== (kind === "untag")) mismatches++;
  }
  // the delta between two full documents that differ by one retagged table
  const before = input.serviceTags as ServiceTags;
  // (a fresh copy, as a second read of the database gives: no object is shared)
  const after = structuredClone(before);
  (after.tags as Record<string, RangerTag>)[String(10 * n)] = { id: 10 * n, type: "PII" };
  (after.resourceToTagIds as Record<string, number[]>)["2"] = [10 * n];
  const diffMs: number[] = [];
  let diffSize = 0;
  for (let k = 0; k < 5; k++)
    diffMs.push(
      cpuMs(() => {
        const d = diffServiceTags(before, after);
        diffSize = Object.keys(d.tags ?? {}).length + Object.keys(d.resourceToTagIds ?? {}).length;
      }),
    );
  if (diffSize !== 2) mismatches++;
  const r = stats(rebuildMs);
  const all = [...kinds.tag, ...kinds.retag, ...kinds.untag];
  const a = stats(all);
  console.log(
    JSON.stringify({
      taggedResources: n,
      rebuildCpuMs: { median: round(r.median), min: round(r.min), max: round(r.max), runs: rebuilds },
      deltaCpuMs: { median: round(a.median), min: round(a.min), max: round(a.max), runs: all.length },
      deltaCpuMsByKind: Object.fromEntries(Object.entries(kinds).map(([k, v]) => [k, round(stats(v).median)])),
      speedup: Math.round(r.median / a.median),
      diffCpuMs: round(stats(diffMs).median),
      mismatches,
    }),
  );
}
