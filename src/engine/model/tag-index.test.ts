/* biome-ignore-all lint/suspicious/noTemplateCurlyInString: Ranger `${{…}}` expressions are resource text, not templates */
import { describe, expect, it } from "vitest";
import { mulberry32 as rng } from "../../../test/support/seeded-random.ts";
import { STATIC_ENV } from "../match/element-matcher.ts";
import { PolicyResourceMatcher } from "../match/policy-resource-matcher.ts";
import type {
  RangerAccessResource,
  RangerPolicyResources,
  RangerServiceDef,
  RangerTag,
  RangerTagForEval,
  ResourceElementMatchingScope,
  ServiceTags,
} from "../types.ts";
import { type PreparedServiceDef, prepareServiceDef } from "./service-def.ts";
import { TagStore } from "./service-tags.ts";
import { type TagCandidates, TagResourceIndex } from "./tag-index.ts";

/**
 * The tag index is a pre-filter: for every request, each tagged resource whose match type tag
 * enrichment counts (SELF, SELF_AND_ALL_DESCENDANTS, ANCESTOR, and DESCENDANT when descendants
 * count) must be among its candidates. These tests compare it with the plain scan (the real
 * `PolicyResourceMatcher` over every resource) on seeded, generated resources and requests:
 * wildcards, excludes, recursive paths, case options, quoted values, tokens, value lists, element
 * scopes, key sets that are not hierarchy chains.
 */

const PATH_MATCHER = "org.apache.ranger.plugin.resourcematcher.RangerPathResourceMatcher";

/** A hive-like def with a path branch; `variant` flips matcher options so every option is exercised. */
function serviceDef(variant: number): RangerServiceDef {
  const opts = (wildCard: boolean, ignoreCase: boolean, extra: Record<string, string> = {}) => ({
    wildCard: String(wildCard),
    ignoreCase: String(ignoreCase),
    ...extra,
  });
  return {
    name: `hive${variant}`,
    resources: [
      {
        name: "database",
        level: 1,
        matcherOptions: opts(true, true, variant === 1 ? { quotedCaseSensitive: "true" } : {}),
      },
      { name: "table", level: 2, parent: "database", matcherOptions: opts(true, variant !== 2) },
      { name: "column", level: 3, parent: "table", matcherOptions: opts(variant !== 3, true) },
      { name: "udf", level: 2, parent: "database", matcherOptions: opts(true, true) },
      {
        name: "url",
        level: 1,
        matcher: PATH_MATCHER,
        recursiveSupported: true,
        matcherOptions: opts(variant !== 4, variant !== 2, variant === 3 ? { pathSeparatorChar: "." } : {}),
      },
    ],
    accessTypes: [{ name: "select" }],
  };
}

const CHAINS = [["database"], ["database", "table"], ["database", "table", "column"], ["database", "udf"], ["url"]];
const NAMES = ["database", "table", "column", "udf", "url"];

const VALUES = [
  "a",
  "A",
  "ab",
  "AB",
  "b",
  "abc",
  "a*",
  "*b",
  "a?",
  "?b",
  "*",
  "**",
  "",
  "{USER}",
  "${{USER.x}}",
  '"A"',
  "a\\{b}",
];
const PATH_VALUES = ["/a", "/a/b", "/a/b/", "/A/b", "/a/*", "/a/b*", "/", "*", "/a?", "/ab", ".a", ".a.b", "a.b*"];
const REQUEST_VALUES = ["a", "A", "ab", "AB", "b", "abc", "x", "a*", "*", "", "?b", "Ab", "abx", "a{b}", '"A"', '"a"'];
const REQUEST_PATHS = ["/a", "/a/b", "/a/b/c", "/A/B", "/", "/ab", "/a/", "", "*", ".a.b", "a.b.c", "/a/bc"];
const SCOPES: ResourceElementMatchingScope[] = ["SELF", "SELF_OR_CHILD", "SELF_OR_PREFIX"];

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)];
}

function randomResource(r: () => number): RangerPolicyResources {
  const x = r();
  // mostly hierarchy chains; some key sets with gaps or unknown to the index, a few empty
  const names =
    x < 0.8 ? pick(r, CHAINS) : x < 0.9 ? NAMES.filter(() => r() < 0.4) : x < 0.95 ? ["database", "column"] : [];
  const out: RangerPolicyResources = {};
  for (const name of names) {
    const pool = name === "url" ? PATH_VALUES : VALUES;
    const count = r() < 0.75 ? 1 : 1 + Math.floor(r() * 3);
    const values: string[] = [];
    for (let i = 0; i < count; i++) values.push(pick(r, pool));
    out[name] = { values, isExcludes: r() < 0.12, isRecursive: name === "url" && r() < 0.5 };
  }
  return out;
}

function randomRequest(r: () => number): {
  resource: RangerAccessResource;
  descendantsCount: boolean;
  scopes?: Record<string, ResourceElementMatchingScope>;
} {
  const x = r();
  let names = x < 0.85 ? pick(r, CHAINS) : x < 0.95 ? NAMES.filter(() => r() < 0.4) : [];
  // requests above the leaf (ancestors of tagged resources) are common
  if (names.length > 1 && r() < 0.3) names = names.slice(0, names.length - 1);
  const elements: RangerAccessResource["elements"] = {};
  for (const name of names) {
    const pool = name === "url" ? REQUEST_PATHS : REQUEST_VALUES;
    elements[name] = r() < 0.1 ? [pick(r, pool), pick(r, pool)] : r() < 0.03 ? [] : pick(r, pool);
  }
  if (r() < 0.05) elements.unknown = "a";
  let scopes: Record<string, ResourceElementMatchingScope> | undefined;
  if (r() < 0.15) {
    scopes = {};
    for (const name of names) if (r() < 0.6) scopes[name] = pick(r, SCOPES);
  }
  return { resource: { elements }, descendantsCount: r() < 0.4, scopes };
}

/** What the plain scan counts: the tag enricher's rule for one resource. */
function counted(
  m: PolicyResourceMatcher,
  resource: RangerAccessResource,
  descendantsCount: boolean,
  scopes?: Record<string, ResourceElementMatchingScope>,
): boolean {
  const mt = m.getMatchType(resource, scopes, STATIC_ENV);
  return (
    mt === "SELF" || mt === "SELF_AND_ALL_DESCENDANTS" || mt === "ANCESTOR" || (mt === "DESCENDANT" && descendantsCount)
  );
}

/** Every ordinal a lookup returns (near and far), and whether each list is ascending and unique. */
function flatten(got: TagCandidates): { all: Set<number>; sorted: boolean } {
  const all = new Set<number>();
  let sorted = true;
  for (const list of [got.near, ...got.far]) {
    for (let i = 1; i < list.length; i++) if (list[i] <= list[i - 1]) sorted = false;
    for (const o of list) all.add(o);
  }
  return { all, sorted };
}

/** The group each generated resource is filed with: a few groups, so far lists have several members. */
const groupOf = (ordinal: number) => ordinal % 4;

/** Checks the index against the scan for `requests` generated requests; returns pruning figures. */
function compareWithScan(
  sd: PreparedServiceDef,
  specs: readonly RangerPolicyResources[],
  seed: number,
  requests: number,
): {
  answered: number;
  candidates: number;
  far: number;
  matched: number;
  untagged: number;
  byType: Map<string, number>;
} {
  const r = rng(seed);
  const matchers = specs.map((s) => new PolicyResourceMatcher(sd, 0, s));
  const index = new TagResourceIndex(sd);
  matchers.forEach((m, i) => {
    index.add(i, m, groupOf(i));
  });
  let answered = 0;
  let candidates = 0;
  let far = 0;
  let matched = 0;
  let untagged = 0;
  const byType = new Map<string, number>();
  for (let q = 0; q < requests; q++) {
    const req = randomRequest(r);
    const got = index.candidates(req.resource, req.descendantsCount, req.scopes);
    const expected: number[] = [];
    matchers.forEach((m, i) => {
      if (!counted(m, req.resource, req.descendantsCount, req.scopes)) return;
      expected.push(i);
      const mt = m.getMatchType(req.resource, req.scopes, STATIC_ENV);
      byType.set(mt, (byType.get(mt) ?? 0) + 1);
    });
    matched += expected.length;
    // the cheap negative may only ever answer true where the scan finds nothing
    if (!req.descendantsCount && req.scopes === undefined && index.surelyUntagged(req.resource)) {
      untagged++;
      if (expected.length > 0)
        expect(
          expected.map((i) => ({ resource: specs[i], request: req })),
          `surelyUntagged, yet related (seed ${seed}, request ${q})`,
        ).toEqual([]);
    }
    if (got === null) continue;
    answered++;
    const { all, sorted } = flatten(got);
    candidates += all.size;
    expect(sorted, `ascending, unique lists (seed ${seed}, request ${q})`).toBe(true);
    const missed = expected.filter((i) => !all.has(i));
    if (missed.length > 0)
      expect(
        missed.map((i) => ({ resource: specs[i], request: req })),
        `missed candidates (seed ${seed}, request ${q})`,
      ).toEqual([]);
    // far lists hold one group each, and only resources that are DESCENDANT or NONE
    for (const group of got.far) {
      far += group.length;
      const wrong = group.filter((o) => {
        const mt = matchers[o].getMatchType(req.resource, req.scopes, STATIC_ENV);
        return groupOf(o) !== groupOf(group[0]) || (mt !== "DESCENDANT" && mt !== "NONE");
      });
      if (wrong.length > 0)
        expect(
          wrong.map((o) => ({ resource: specs[o], request: req })),
          `far resources of another group or match type (seed ${seed}, request ${q})`,
        ).toEqual([]);
    }
  }
  return { answered, candidates, far, matched, untagged, byType };
}

describe("TagResourceIndex", () => {
  for (let variant = 0; variant <= 4; variant++) {
    it(`never misses a related resource: generated resources and requests, option variant ${variant}`, () => {
      const sd = prepareServiceDef(serviceDef(variant));
      let answered = 0;
      let candidates = 0;
      let far = 0;
      let matched = 0;
      const byType = new Map<string, number>();
      for (let seed = 1; seed <= 12; seed++) {
        const r = rng(seed * 1000 + variant);
        const specs = Array.from({ length: 150 }, () => randomResource(r));
        const c = compareWithScan(sd, specs, seed * 7919 + variant, 300);
        answered += c.answered;
        candidates += c.candidates;
        far += c.far;
        matched += c.matched;
        for (const [k, v] of c.byType) byType.set(k, (byType.get(k) ?? 0) + v);
      }
      // the generated cases reach every relation the enricher counts
      for (const mt of ["SELF", "SELF_AND_ALL_DESCENDANTS", "ANCESTOR", "DESCENDANT"])
        expect(byType.get(mt) ?? 0, `${mt} matches`).toBeGreaterThan(50);
      // the index answers most requests itself (the rest — no keys, non-chains — scan) and prunes
      expect(answered).toBeGreaterThan(12 * 300 * 0.7);
      // (these resources are dense on purpose — ~45% of them are candidates, ~14% match; the
      // tests below measure pruning on realistic data)
      expect(candidates).toBeLessThan(answered * 150 * 0.6);
      expect(far, "far candidates").toBeGreaterThan(1000);
      expect(matched).toBeGreaterThan(0);
    });
  }

  it("answers `surely untagged` only where the scan finds nothing: generated literal-heavy resources", () => {
    // realistic tagging: literal databases, tables and columns, a few wildcard tables; dense random
    // resources above rarely leave a request untagged, these mostly do
    let untagged = 0;
    for (let variant = 0; variant <= 4; variant++) {
      const sd = prepareServiceDef(serviceDef(variant));
      for (let seed = 1; seed <= 6; seed++) {
        const r = rng(seed * 31 + variant);
        const specs = Array.from({ length: 60 }, (): RangerPolicyResources => {
          const chain = pick(r, CHAINS.slice(0, 3));
          const out: RangerPolicyResources = {};
          for (const name of chain)
            out[name] = { values: [name === "table" && r() < 0.1 ? "a*" : pick(r, ["a", "ab", "b", "abc", "AB"])] };
          return out;
        });
        untagged += compareWithScan(sd, specs, seed * 131 + variant, 300).untagged;
      }
    }
    expect(untagged, "requests answered by surelyUntagged (each checked against the scan)").toBeGreaterThan(500);
  });

  it("tells untagged tables cheaply, and never a table that is tagged or under a tagged database", () => {
    const sd = prepareServiceDef(serviceDef(0));
    const specs: RangerPolicyResources[] = [
      { database: { values: ["sales"] }, table: { values: ["orders"] } },
      { database: { values: ["hr"] } },
      { database: { values: ["ops"] }, table: { values: ["*"] } },
      { database: { values: ["web"] }, table: { values: ["logs"] }, column: { values: ["ip"] } },
    ];
    const index = new TagResourceIndex(sd);
    specs.forEach((s, i) => {
      index.add(i, new PolicyResourceMatcher(sd, 0, s), 0);
    });
    const untagged = (elements: Record<string, string>) => index.surelyUntagged({ elements });
    expect(untagged({ database: "sales", table: "customers" })).toBe(true);
    expect(untagged({ database: "finance", table: "orders" })).toBe(true);
    expect(untagged({ database: "web", table: "users" })).toBe(true);
    // the tagged table itself (any case), a table under a tagged database, a match-any table level
    expect(untagged({ database: "sales", table: "orders" })).toBe(false);
    expect(untagged({ database: "SALES", table: "Orders" })).toBe(false);
    expect(untagged({ database: "hr", table: "payroll" })).toBe(false);
    expect(untagged({ database: "ops", table: "jobs" })).toBe(false);
    // a column under the tagged table, and a database whose table level has a match-any edge
    expect(untagged({ database: "sales", table: "orders", column: "id" })).toBe(false);
    expect(untagged({ database: "ops" })).toBe(false);
    // not decided cheaply: all-values and list values, keys out of hierarchy order
    expect(untagged({ database: "sales", table: "*" })).toBe(false);
    expect(untagged({ table: "customers", database: "sales" })).toBe(false);
  });

  it("prunes: on literal table tags a request gets its own table and ancestors, not every tagged table", () => {
    const sd = prepareServiceDef(serviceDef(0));
    const specs: RangerPolicyResources[] = [];
    for (let d = 0; d < 20; d++) {
      specs.push({ database: { values: [`db${d}`] } });
      for (let t = 0; t < 50; t++) specs.push({ database: { values: [`db${d}`] }, table: { values: [`t${t}`] } });
    }
    const index = new TagResourceIndex(sd);
    specs.forEach((s, i) => {
      index.add(i, new PolicyResourceMatcher(sd, 0, s), i % 2);
    });
    const column = { resource: { elements: { database: "DB3", table: "t7", column: "c" } } };
    expect(index.candidates(column.resource, false, undefined)).toEqual({ near: [3 * 51, 3 * 51 + 8], far: [] });
    // a database-level request with descendants gets the database, and its 50 tables by group
    const tables = Array.from({ length: 50 }, (_, i) => 3 * 51 + 1 + i);
    expect(index.candidates({ elements: { database: "db3" } }, true, undefined)).toEqual({
      near: [3 * 51],
      far: [tables.filter((o) => o % 2 === 0), tables.filter((o) => o % 2 === 1)],
    });
    expect(index.candidates({ elements: { database: "db3" } }, false, undefined)).toEqual({ near: [3 * 51], far: [] });
    expect(index.candidates({ elements: { database: "other", table: "t7" } }, true, undefined)).toEqual({
      near: [],
      far: [],
    });
  });

  it("prunes paths: a recursive path is a candidate below itself only", () => {
    const sd = prepareServiceDef(serviceDef(0));
    const specs: RangerPolicyResources[] = [];
    for (let i = 0; i < 500; i++) specs.push({ url: { values: [`/data/d${i}/`], isRecursive: true } });
    const index = new TagResourceIndex(sd);
    specs.forEach((s, i) => {
      index.add(i, new PolicyResourceMatcher(sd, 0, s), 0);
    });
    const got = index.candidates({ elements: { url: "/data/d42/x/y" } }, false, undefined)?.near;
    // "/data/d4/" is filed under the prefix "/data/d4", which "/data/d42/…" also starts with: an
    // over-approximation the matcher then rejects; none of the other 498 paths is a candidate
    expect(got).toEqual([4, 42]);
  });

  it("after changes, removed resources are gone and added ones found, cached far lists included", () => {
    const sd = prepareServiceDef(serviceDef(0));
    const r = rng(42);
    const specs = Array.from({ length: 300 }, () => randomResource(r));
    const matchers = specs.map((s) => new PolicyResourceMatcher(sd, 0, s));
    const index = new TagResourceIndex(sd);
    // the first 200 now, the rest after lookups have filled the nodes' far caches
    for (let i = 0; i < 200; i++) index.add(i, matchers[i], groupOf(i));
    const q = rng(43);
    const requests = Array.from({ length: 2000 }, () => randomRequest(q));
    for (const req of requests) index.candidates(req.resource, req.descendantsCount, req.scopes);
    const removed = new Set<number>();
    for (let i = 0; i < 200; i += 3) {
      index.remove(i, matchers[i]);
      removed.add(i);
    }
    for (let i = 200; i < 300; i++) index.add(i, matchers[i], groupOf(i));
    let checked = 0;
    const returned: number[] = [];
    const missed: number[] = [];
    for (const req of requests) {
      const got = index.candidates(req.resource, req.descendantsCount, req.scopes);
      if (got === null) continue;
      const { all } = flatten(got);
      for (const i of all) if (removed.has(i)) returned.push(i);
      matchers.forEach((m, i) => {
        if (removed.has(i) || !counted(m, req.resource, req.descendantsCount, req.scopes)) return;
        checked++;
        if (!all.has(i)) missed.push(i);
      });
    }
    expect(returned, "removed resources returned").toEqual([]);
    expect(missed, "resources missed after changes").toEqual([]);
    expect(checked).toBeGreaterThan(100);
  });
});

/** The enrichment loop before the index: every resource matched, tags deduplicated in order. */
function scanTags(
  tagged: readonly { matcher: PolicyResourceMatcher; tags: readonly RangerTag[] }[],
  resource: RangerAccessResource,
  descendantsCount: boolean,
  scopes?: Record<string, ResourceElementMatchingScope>,
): RangerTagForEval[] {
  const out: RangerTagForEval[] = [];
  const seen = new Set<string>();
  for (const { matcher, tags } of tagged) {
    if (!counted(matcher, resource, descendantsCount, scopes)) continue;
    const mt = matcher.getMatchType(resource, scopes, STATIC_ENV);
    const matchType = mt === "SELF_AND_ALL_DESCENDANTS" ? "SELF" : mt;
    for (const t of tags) {
      const key = `${matchType}\u0000${t.type}\u0000${JSON.stringify(t.attributes ?? {})}\u0000${JSON.stringify(t.validityPeriods ?? null)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({
        type: t.type,
        attributes: t.attributes ?? {},
        validityPeriods: t.validityPeriods,
        options: t.options,
        matchType,
      });
    }
  }
  return out;
}

describe("TagStore", () => {
  it("returns what the plain scan returns, in the same order with the same deduplication", () => {
    for (let variant = 0; variant <= 4; variant++) {
      const sd = prepareServiceDef(serviceDef(variant));
      for (let seed = 1; seed <= 4; seed++) {
        const r = rng(seed * 31 + variant);
        const serviceTags: ServiceTags = {
          tags: {
            "1": { id: 1, type: "PII" },
            "2": { id: 2, type: "PCI", attributes: { level: "high" } },
            "3": { id: 3, type: "PII", attributes: { level: "low" } },
            "4": { id: 4, type: "EXPIRES", validityPeriods: [{ endTime: "2030/01/01 00:00:00" }] },
          },
          serviceResources: [],
          resourceToTagIds: {},
        };
        for (let i = 1; i <= 120; i++) {
          serviceTags.serviceResources?.push({ id: i, resourceElements: randomResource(r) });
          const ids = [1, 2, 3, 4, 99].filter(() => r() < 0.4);
          (serviceTags.resourceToTagIds as Record<string, number[]>)[String(i)] = ids;
        }
        const store = new TagStore(serviceTags, sd);
        const tagged = (serviceTags.serviceResources ?? []).map((sr) => ({
          matcher: new PolicyResourceMatcher(sd, 0, sr.resourceElements),
          tags: (serviceTags.resourceToTagIds?.[String(sr.id)] ?? []).flatMap(
            (id) => serviceTags.tags?.[String(id)] ?? [],
          ),
        }));
        let nonEmpty = 0;
        for (let q = 0; q < 300; q++) {
          const req = randomRequest(r);
          const expected = scanTags(tagged, req.resource, req.descendantsCount, req.scopes);
          if (expected.length > 0) nonEmpty++;
          const got = store.tagsFor(req.resource, req.descendantsCount, req.scopes);
          if (JSON.stringify(got) !== JSON.stringify(expected))
            expect(got, `variant ${variant} seed ${seed} request ${q}`).toEqual(expected);
        }
        expect(nonEmpty).toBeGreaterThan(30);
      }
    }
  });
});
