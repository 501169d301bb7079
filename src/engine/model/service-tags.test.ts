import { describe, expect, it } from "vitest";
import { mulberry32 as rng } from "../../../test/support/seeded-random.ts";
import { createEngine } from "../index.ts";
import type {
  EngineInput,
  RangerAccessRequest,
  RangerPolicy,
  RangerPolicyResources,
  RangerServiceDef,
  RangerServiceResource,
  RangerTag,
  ServiceTags,
} from "../types.ts";
import { prepareServiceDef } from "./service-def.ts";
import { TagStore } from "./service-tags.ts";
import { applyServiceTagsDelta, HeldServiceTags } from "./service-tags-apply.ts";
import { diffServiceTags } from "./service-tags-diff.ts";

/**
 * Tag deltas applied in place must leave the engine exactly where a fresh build from the resulting
 * document would be: same `tagsFor` output (order and deduplication included) and same decisions.
 * The resulting document comes from `mergeDelta` below, a plain transcription of Ranger's
 * `RangerServiceTagsDeltaUtil.applyDelta` (plus Gatehouse's rule for deltas without signatures),
 * written independently of the store's incremental code.
 */

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)];
}

const SERVICE_DEF: RangerServiceDef = {
  name: "hive",
  resources: [
    { name: "database", level: 1, matcherOptions: { wildCard: "true", ignoreCase: "true" } },
    { name: "table", level: 2, parent: "database", matcherOptions: { wildCard: "true", ignoreCase: "true" } },
    { name: "column", level: 3, parent: "table", matcherOptions: { wildCard: "true", ignoreCase: "true" } },
    {
      name: "url",
      level: 1,
      matcher: "org.apache.ranger.plugin.resourcematcher.RangerPathResourceMatcher",
      recursiveSupported: true,
      matcherOptions: { wildCard: "true", ignoreCase: "false" },
    },
  ],
  accessTypes: [{ name: "select" }, { name: "update" }],
};

const TAG_DEF: RangerServiceDef = {
  name: "tag",
  resources: [{ name: "tag", level: 1, matcherOptions: { wildCard: "true", ignoreCase: "false" } }],
  accessTypes: [{ name: "hive:select" }, { name: "hive:update" }],
};

const TAG_POLICIES: RangerPolicy[] = [
  {
    id: 100,
    name: "no-pii",
    resources: { tag: { values: ["PII"] } },
    denyPolicyItems: [{ groups: ["analysts"], accesses: [{ type: "hive:select" }] }],
  },
  {
    id: 101,
    name: "pci-for-auditors",
    resources: { tag: { values: ["PCI", "EXP*"] } },
    policyItems: [{ groups: ["auditors"], accesses: [{ type: "hive:select" }, { type: "hive:update" }] }],
  },
];

const POLICIES: RangerPolicy[] = [
  {
    id: 1,
    name: "analysts-read",
    resources: { database: { values: ["*"] }, table: { values: ["*"] }, column: { values: ["*"] } },
    policyItems: [{ groups: ["analysts"], accesses: [{ type: "select" }] }],
  },
];

const TAG_TYPES = ["PII", "PCI", "EXPIRES", "OTHER"];
const VALUES = ["a", "A", "ab", "b", "abc", "a*", "*b", "*", "c"];
const PATHS = ["/a", "/a/b", "/a/b/", "/a/*", "/", "/ab"];
const REQUEST_VALUES = ["a", "A", "ab", "b", "abc", "x", "c", "Ab"];
const REQUEST_PATHS = ["/a", "/a/b", "/a/b/c", "/", "/ab", "/x"];
const CHAINS = [["database"], ["database", "table"], ["database", "table", "column"], ["url"]];

function randomElements(r: () => number): RangerPolicyResources {
  const out: RangerPolicyResources = {};
  for (const name of pick(r, CHAINS)) {
    const values = [pick(r, name === "url" ? PATHS : VALUES)];
    if (r() < 0.15) values.push(pick(r, VALUES));
    out[name] = { values, isExcludes: name !== "url" && r() < 0.05, isRecursive: name === "url" && r() < 0.5 };
  }
  return out;
}

function randomTag(r: () => number): RangerTag {
  const tag: RangerTag = { type: pick(r, TAG_TYPES) };
  if (r() < 0.5) tag.attributes = { level: pick(r, ["high", "low"]) };
  if (r() < 0.1) tag.validityPeriods = [{ endTime: "2030/01/01 00:00:00" }];
  if (r() < 0.1) tag.options = { note: pick(r, ["x", "y"]) };
  return tag;
}

function randomRequest(r: () => number): RangerAccessRequest {
  let names = pick(r, CHAINS);
  if (names.length > 1 && r() < 0.3) names = names.slice(0, -1);
  const elements: Record<string, string> = {};
  for (const n of names) elements[n] = pick(r, n === "url" ? REQUEST_PATHS : REQUEST_VALUES);
  return {
    resource: { elements },
    accessType: r() < 0.3 ? "" : pick(r, ["select", "update"]),
    user: "u",
    userGroups: [pick(r, ["analysts", "auditors", "others"])],
    resourceMatchingScope: r() < 0.1 ? "SELF_OR_DESCENDANTS" : "SELF",
  };
}

/** Canonical JSON of elements (sorted keys), as a delta without signature is compared. */
function canon(elements: RangerPolicyResources | undefined): string {
  const e = elements ?? {};
  return JSON.stringify(
    Object.fromEntries(
      Object.keys(e)
        .sort()
        .map((k) => [k, e[k]]),
    ),
  );
}

/** Ranger's `applyDelta` on documents (see the file comment); a full document replaces. */
function mergeDelta(doc: ServiceTags, delta: ServiceTags): ServiceTags {
  if (!delta.isDelta) return structuredClone(delta);
  if (delta.tagsChangeExtent === "NONE") return doc;
  let tags: Record<string, RangerTag> = { ...doc.tags };
  for (const [id, t] of Object.entries(delta.tags ?? {})) {
    if (!t.type) delete tags[id];
    else tags[id] = t;
  }
  const resources = [...(doc.serviceResources ?? [])];
  const mappings = { ...doc.resourceToTagIds };
  for (const sr of delta.serviceResources ?? []) {
    const i = resources.findIndex((x) => x.id === sr.id);
    if (!sr.resourceSignature && Object.keys(sr.resourceElements ?? {}).length === 0) {
      if (i >= 0) {
        resources.splice(i, 1);
        delete mappings[String(sr.id)];
      }
      continue;
    }
    if (i >= 0) {
      const old = resources[i];
      const same = sr.resourceSignature
        ? sr.resourceSignature === old.resourceSignature
        : canon(sr.resourceElements) === canon(old.resourceElements);
      if (same) continue;
      resources.splice(i, 1);
    }
    resources.push(sr);
  }
  Object.assign(mappings, delta.resourceToTagIds);
  if (Object.keys(mappings).length === 0) tags = {};
  return { tags, serviceResources: resources, resourceToTagIds: mappings };
}

/** A generated world: a document, and the ids it has handed out. */
class World {
  doc: ServiceTags = { tags: {}, serviceResources: [], resourceToTagIds: {} };
  nextResource = 1;
  nextTag = 1;
  private readonly r: () => number;
  constructor(r: () => number) {
    this.r = r;
  }

  resource(id: number): RangerServiceResource {
    const resourceElements = randomElements(this.r);
    const sr: RangerServiceResource = { id, resourceElements };
    if (this.r() < 0.5) sr.resourceSignature = canon(resourceElements);
    return sr;
  }

  /** Tag ids for a resource: mostly known ones, sometimes fresh or dangling. */
  tagIds(delta: ServiceTags): number[] {
    const r = this.r;
    const known = Object.keys(this.doc.tags ?? {}).map(Number);
    const ids: number[] = [];
    const n = Math.floor(r() * 3.2);
    for (let i = 0; i < n; i++) {
      const x = r();
      if (x < 0.55 && known.length > 0) ids.push(pick(r, known));
      else if (x < 0.9) {
        const id = this.nextTag++;
        (delta.tags as Record<string, RangerTag>)[String(id)] = randomTag(r);
        ids.push(id);
      } else ids.push(this.nextTag + 50); // not (yet) a tag
    }
    return ids;
  }

  /** A full document of `n` resources. */
  full(n: number): ServiceTags {
    const doc: ServiceTags = { tags: {}, serviceResources: [], resourceToTagIds: {} };
    this.doc = { tags: {}, serviceResources: [], resourceToTagIds: {} };
    for (let i = 0; i < n; i++) {
      const id = this.nextResource++;
      doc.serviceResources?.push(this.resource(id));
      (doc.resourceToTagIds as Record<string, number[]>)[String(id)] = this.tagIds(doc);
      this.doc.tags = doc.tags;
    }
    return doc;
  }

  /** A delta of a few generated changes. */
  delta(): ServiceTags {
    const r = this.r;
    const delta: ServiceTags = { isDelta: true, tags: {}, serviceResources: [], resourceToTagIds: {} };
    const tags = delta.tags as Record<string, RangerTag>;
    const mappings = delta.resourceToTagIds as Record<string, number[]>;
    const existing = (this.doc.serviceResources ?? []).map((x) => x.id as number);
    const changes = 1 + Math.floor(r() * 4);
    for (let c = 0; c < changes; c++) {
      const x = r();
      const some = existing.length > 0 ? pick(r, existing) : undefined;
      if (x < 0.25 || some === undefined) {
        const id = this.nextResource++;
        delta.serviceResources?.push(this.resource(id));
        mappings[String(id)] = this.tagIds(delta);
      } else if (x < 0.4) {
        delta.serviceResources?.push({ id: some, resourceElements: {} }); // removed
      } else if (x < 0.5) {
        delta.serviceResources?.push(this.resource(some)); // elements changed (usually)
        if (r() < 0.5) mappings[String(some)] = this.tagIds(delta);
      } else if (x < 0.6) {
        const same = (this.doc.serviceResources ?? []).find((s) => s.id === some) as RangerServiceResource;
        delta.serviceResources?.push(structuredClone(same)); // sent again, unchanged
      } else if (x < 0.75) {
        mappings[String(some)] = this.tagIds(delta); // tags of a resource
      } else if (x < 0.9) {
        const known = Object.keys({ ...this.doc.tags, ...tags });
        if (known.length > 0) tags[pick(r, known)] = randomTag(r); // a (shared) tag changes
      } else if (x < 0.97) {
        const known = Object.keys(this.doc.tags ?? {});
        if (known.length > 0) tags[pick(r, known)] = { type: "" }; // a tag removed
      } else mappings[String(this.nextResource + 3)] = this.tagIds(delta); // a mapping ahead of its resource
    }
    if (r() < 0.05) delta.tagsChangeExtent = "NONE";
    return delta;
  }
}

const sd = prepareServiceDef(SERVICE_DEF);

function engineInput(serviceTags: ServiceTags): EngineInput {
  return {
    serviceDef: SERVICE_DEF,
    policies: POLICIES,
    tagPolicies: { serviceDef: TAG_DEF, policies: TAG_POLICIES },
    serviceTags,
  };
}

/** Compares the incremental store and engine with fresh ones on `requests` generated requests. */
function compare(
  store: TagStore,
  engine: ReturnType<typeof createEngine>,
  doc: ServiceTags,
  r: () => number,
  requests: number,
  where: string,
): number {
  const freshStore = new TagStore(structuredClone(doc), sd);
  const freshEngine = createEngine(engineInput(structuredClone(doc)));
  let tagged = 0;
  for (let q = 0; q < requests; q++) {
    const req = randomRequest(r);
    const descendants = req.accessType === "" || req.resourceMatchingScope === "SELF_OR_DESCENDANTS";
    const want = freshStore.tagsFor(req.resource, descendants);
    const got = store.tagsFor(req.resource, descendants);
    if (want.length > 0) tagged++;
    if (JSON.stringify(got) !== JSON.stringify(want)) expect(got, `${where}, request ${q}: tagsFor`).toEqual(want);
    const a = freshEngine.isAccessAllowed(req);
    const b = engine.isAccessAllowed(req);
    if (JSON.stringify(a) !== JSON.stringify(b)) expect(b, `${where}, request ${q}: decision`).toEqual(a);
  }
  return tagged;
}

describe("TagStore.apply (tag deltas in place)", () => {
  it("matches a fresh build after every generated delta: tagsFor order and deduplication, decisions", () => {
    let tagged = 0;
    let deltas = 0;
    for (let seed = 1; seed <= 6; seed++) {
      const r = rng(seed);
      const world = new World(r);
      const initial = world.full(60);
      world.doc = structuredClone(initial);
      const store = new TagStore(structuredClone(initial), sd);
      const engine = createEngine(engineInput(structuredClone(initial)));
      for (let step = 0; step < 60; step++) {
        // now and then a full document replaces everything
        const change = r() < 0.04 ? world.full(20 + Math.floor(r() * 40)) : world.delta();
        world.doc = mergeDelta(world.doc, change);
        store.apply(structuredClone(change));
        engine.applyServiceTags(structuredClone(change));
        deltas++;
        tagged += compare(store, engine, world.doc, r, 40, `seed ${seed}, step ${step}`);
      }
    }
    expect(deltas).toBe(360);
    // the generated requests do meet tags (and the comparisons are not all of empty lists)
    expect(tagged).toBeGreaterThan(2000);
  });

  it("keeps matching after enough removals to renumber (compaction) and re-adding", () => {
    const r = rng(77);
    const world = new World(r);
    const initial = world.full(3000);
    world.doc = structuredClone(initial);
    const store = new TagStore(structuredClone(initial), sd);
    const engine = createEngine(engineInput(structuredClone(initial)));
    // warm the index's caches, then remove 2,500 resources in deltas of 100 and add 200
    compare(store, engine, world.doc, r, 200, "before");
    for (let batch = 0; batch < 25; batch++) {
      const ids = (world.doc.serviceResources ?? []).slice(0, 100).map((s) => s.id);
      const delta: ServiceTags = {
        isDelta: true,
        serviceResources: ids.map((id) => ({ id, resourceElements: {} })),
      };
      world.doc = mergeDelta(world.doc, delta);
      store.apply(structuredClone(delta));
      engine.applyServiceTags(structuredClone(delta));
    }
    let add = world.delta();
    for (let i = 0; i < 50; i++) add = mergeShallow(add, world.delta());
    world.doc = mergeDelta(world.doc, add);
    store.apply(structuredClone(add));
    engine.applyServiceTags(structuredClone(add));
    expect(world.doc.serviceResources?.length).toBeLessThan(800);
    expect(compare(store, engine, world.doc, r, 600, "after compaction")).toBeGreaterThan(50);
  });

  it("a tag change that splits a tag set refiles its resources (descendant lookups stand one resource for a set)", () => {
    const table = (t: string) => ({ database: { values: ["a"] }, table: { values: [t] } });
    const store = new TagStore(
      {
        tags: { "1": { type: "PII" }, "2": { type: "PII" } },
        serviceResources: [
          { id: 1, resourceElements: table("t1") },
          { id: 2, resourceElements: table("t2") },
        ],
        resourceToTagIds: { "1": [1], "2": [2] },
      },
      sd,
    );
    const below = () => store.tagsFor({ elements: { database: "a" } }, true).map((t) => t.type);
    // one tag set (PII) below the database: one resource stands for both
    expect(below()).toEqual(["PII"]);
    store.apply({ isDelta: true, tags: { "2": { type: "PCI" } } });
    expect(below()).toEqual(["PII", "PCI"]);
    store.apply({ isDelta: true, tags: { "1": { type: "PCI" } } });
    expect(below()).toEqual(["PCI"]);
    store.apply({ isDelta: true, tags: { "1": { type: "" } } });
    expect(below()).toEqual(["PCI"]);
    expect(store.tagsFor({ elements: { database: "a", table: "t1" } }, false)).toEqual([]);
  });

  it("an engine built without tags (simple-grant fast path) takes its first tag from a delta, and loses it", () => {
    const engine = createEngine(engineInput({}));
    const req: RangerAccessRequest = {
      resource: { elements: { database: "a", table: "b", column: "c" } },
      accessType: "select",
      user: "u",
      userGroups: ["analysts"],
    };
    expect(engine.isAccessAllowed(req).isAllowed).toBe(true);
    engine.applyServiceTags({
      isDelta: true,
      tags: { "7": { type: "PII" } },
      serviceResources: [{ id: 1, resourceElements: { database: { values: ["a"] }, table: { values: ["b"] } } }],
      resourceToTagIds: { "1": [7] },
    });
    expect(engine.isAccessAllowed(req)).toMatchObject({ isAllowed: false, policyId: 100 });
    engine.applyServiceTags({ isDelta: true, serviceResources: [{ id: 1, resourceElements: {} }] });
    expect(engine.isAccessAllowed(req)).toMatchObject({ isAllowed: true, policyId: 1 });
  });

  it("a full document replaces all tags; a NONE delta changes nothing; an untagged store is empty", () => {
    const store = new TagStore(
      {
        tags: { "1": { type: "PII" } },
        serviceResources: [{ id: 1, resourceElements: { database: { values: ["a"] } } }],
        resourceToTagIds: { "1": [1] },
      },
      sd,
    );
    const req = { elements: { database: "a" } };
    expect(store.tagsFor(req, false).map((t) => t.type)).toEqual(["PII"]);
    store.apply({ isDelta: true, tagsChangeExtent: "NONE", resourceToTagIds: { "1": [] } });
    expect(store.tagsFor(req, false).map((t) => t.type)).toEqual(["PII"]);
    store.apply({ isDelta: true, resourceToTagIds: { "1": [] } });
    expect(store.isEmpty).toBe(true);
    store.apply({ isDelta: true, tags: { "2": { type: "PCI" } }, resourceToTagIds: { "1": [2] } });
    expect(store.tagsFor(req, false).map((t) => t.type)).toEqual(["PCI"]);
    store.apply({ serviceResources: [], tags: {} });
    expect(store.isEmpty).toBe(true);
    expect(store.tagsFor(req, false)).toEqual([]);
  });
});

describe("diffServiceTags (documents in, the delta between them out)", () => {
  it("brings an engine from one document to the next exactly as a fresh build of the next one", () => {
    let deltas = 0;
    let fulls = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const r = rng(seed + 500);
      const world = new World(r);
      world.doc = structuredClone(world.full(80));
      let prev = structuredClone(world.doc);
      const store = new TagStore(structuredClone(prev), sd);
      const engine = createEngine(engineInput(structuredClone(prev)));
      for (let step = 0; step < 40; step++) {
        // a few Ranger deltas' worth of change between two reads of the document
        const changes = 1 + Math.floor(r() * 3);
        for (let c = 0; c < changes; c++) world.doc = mergeDelta(world.doc, world.delta());
        const next = structuredClone(world.doc);
        // a reader ordering resources by id lists a changed resource in its old place
        if (r() < 0.2) next.serviceResources?.sort((a, b) => (a.id as number) - (b.id as number));
        const diff = diffServiceTags(prev, next);
        if (diff.isDelta) deltas++;
        else fulls++;
        store.apply(structuredClone(diff));
        engine.applyServiceTags(structuredClone(diff));
        compare(store, engine, next, r, 40, `seed ${seed}, step ${step}`);
        prev = next;
        world.doc = structuredClone(next);
      }
    }
    expect(deltas).toBeGreaterThan(100);
    expect(fulls).toBeGreaterThan(5);
  });

  it("keeps what later documents rely on: mappings ahead of their resource, tags while nothing is mapped", () => {
    const a = (id: number) => ({ id, resourceElements: { database: { values: [`d${id}`] } } });
    const tags = { "1": { type: "PII" }, "2": { type: "PCI" } };
    const run = (docs: ServiceTags[]) => {
      const store = new TagStore(structuredClone(docs[0]), sd);
      for (let i = 1; i < docs.length; i++) store.apply(diffServiceTags(docs[i - 1], structuredClone(docs[i])));
      return (db: string) => store.tagsFor({ elements: { database: db } }, false).map((t) => t.type);
    };
    // resource 9's mapping changes before resource 9 exists
    const ahead = run([
      { tags, serviceResources: [a(1)], resourceToTagIds: { "1": [1], "9": [1] } },
      { tags, serviceResources: [a(1)], resourceToTagIds: { "1": [1], "9": [2] } },
      { tags, serviceResources: [a(1), a(9)], resourceToTagIds: { "1": [1], "9": [2] } },
    ]);
    expect(ahead("d9")).toEqual(["PCI"]);
    // nothing maps to any tag for a while (a delta would drop every tag), then tag 1 is used again
    const unmapped = run([
      { tags, serviceResources: [a(1)], resourceToTagIds: { "1": [1] } },
      { tags, serviceResources: [], resourceToTagIds: {} },
      { tags, serviceResources: [a(3)], resourceToTagIds: { "3": [1] } },
    ]);
    expect(unmapped("d3")).toEqual(["PII"]);
  });

  it("says nothing changed for equal documents, and names only what changed", () => {
    const doc: ServiceTags = {
      tags: { "1": { type: "PII" }, "2": { type: "PCI" } },
      serviceResources: [
        { id: 1, resourceElements: { database: { values: ["a"] } } },
        { id: 2, resourceElements: { database: { values: ["b"] } } },
      ],
      resourceToTagIds: { "1": [1], "2": [2] },
    };
    expect(diffServiceTags(doc, structuredClone(doc))).toMatchObject({ isDelta: true, tagsChangeExtent: "NONE" });
    const next = structuredClone(doc);
    (next.tags as Record<string, RangerTag>)["2"] = { type: "PCI", attributes: { level: "high" } };
    next.serviceResources?.shift();
    expect(diffServiceTags(doc, next)).toEqual({
      isDelta: true,
      tagsChangeExtent: "SERVICE_RESOURCE",
      tags: { "2": { type: "PCI", attributes: { level: "high" } } },
      serviceResources: [{ id: 1, resourceElements: {} }],
      resourceToTagIds: {},
      serviceName: undefined,
      tagVersion: undefined,
    });
  });
});

describe("applyServiceTagsDelta and HeldServiceTags (a document kept current by deltas)", () => {
  /** Mappings without empty lists: a fresh document lists no entry for a resource without tags. */
  const mapped = (doc: ServiceTags) =>
    Object.fromEntries(Object.entries(doc.resourceToTagIds ?? {}).filter(([, ids]) => ids.length > 0));

  it("holds the document Ranger's applyDelta makes, from which a fresh build decides as the engine the deltas went to", () => {
    let flushes = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const r = rng(100 + seed);
      const world = new World(r);
      const initial = world.full(40);
      world.doc = structuredClone(initial);
      const held = new HeldServiceTags(structuredClone(initial));
      const engine = createEngine(engineInput(structuredClone(initial)));
      for (let step = 0; step < 50; step++) {
        const change = r() < 0.04 ? world.full(20 + Math.floor(r() * 20)) : world.delta();
        change.tagVersion = step + 2;
        world.doc = mergeDelta(world.doc, change);
        held.apply(structuredClone(change));
        engine.applyServiceTags(structuredClone(change));
        expect(held.tagVersion).toBe(step + 2);
        // look at the document only now and then: deltas queue up in between
        if (r() < 0.3) continue;
        flushes++;
        const doc = held.document;
        const where = `seed ${seed}, step ${step}`;
        expect(doc.tagVersion, where).toBe(step + 2);
        expect(doc.isDelta, where).not.toBe(true);
        expect(
          (doc.serviceResources ?? []).map((x) => x.id),
          where,
        ).toEqual((world.doc.serviceResources ?? []).map((x) => x.id));
        expect(doc.tags, where).toEqual(world.doc.tags);
        expect(mapped(doc), where).toEqual(mapped(world.doc));
        compare(new TagStore(structuredClone(doc), sd), engine, doc, r, 30, where);
      }
    }
    expect(flushes).toBeGreaterThan(100);
  });

  it("replaces a resource with the same signature where it stands, moves one with a new signature to the end, and never changes its inputs", () => {
    const el = (v: string) => ({ database: { values: [v] } });
    const before: ServiceTags = {
      tagVersion: 1,
      tagDefinitions: { "1": { id: 1, name: "PII" } },
      tags: { "10": { id: 10, type: "PII" }, "11": { id: 11, type: "PII", attributes: { x: "1" } } },
      serviceResources: [
        { id: 1, resourceElements: el("a"), resourceSignature: "a" },
        { id: 2, resourceElements: el("b"), resourceSignature: "b" },
        { id: 3, resourceElements: el("c"), resourceSignature: "c" },
      ],
      resourceToTagIds: { "1": [10], "2": [10], "3": [11] },
    };
    const copy = structuredClone(before);
    const after = applyServiceTagsDelta(before, {
      isDelta: true,
      tagVersion: 2,
      tagDefinitions: { "2": { id: 2, name: "PCI" } },
      tags: { "11": { id: 11 } as RangerTag, "12": { id: 12, type: "PCI" } },
      serviceResources: [
        { id: 3, resourceElements: {} },
        { id: 1, resourceElements: el("a"), resourceSignature: "a", ownerUser: "bob" },
        { id: 2, resourceElements: el("z"), resourceSignature: "z" },
        { id: 4, resourceElements: el("d"), resourceSignature: "d" },
      ],
      resourceToTagIds: { "1": [], "2": [10, 12], "4": [12] },
    });
    expect(before).toEqual(copy);
    expect(after).toEqual({
      tagVersion: 2,
      isDelta: false,
      tagDefinitions: { "1": { id: 1, name: "PII" }, "2": { id: 2, name: "PCI" } },
      tags: { "10": { id: 10, type: "PII" }, "12": { id: 12, type: "PCI" } },
      serviceResources: [
        { id: 1, resourceElements: el("a"), resourceSignature: "a", ownerUser: "bob" },
        { id: 2, resourceElements: el("z"), resourceSignature: "z" },
        { id: 4, resourceElements: el("d"), resourceSignature: "d" },
      ],
      resourceToTagIds: { "2": [10, 12], "4": [12] },
    });
    // a NONE delta moves the version only; a full document replaces
    expect(applyServiceTagsDelta(after, { isDelta: true, tagsChangeExtent: "NONE", tagVersion: 3 })).toEqual({
      ...after,
      tagVersion: 3,
    });
    expect(applyServiceTagsDelta(after, copy)).toBe(copy);
  });
});

/** Two deltas as one (the later wins per id), for a bigger batch. */
function mergeShallow(a: ServiceTags, b: ServiceTags): ServiceTags {
  const seen = new Set((b.serviceResources ?? []).map((s) => s.id));
  return {
    isDelta: true,
    tags: { ...a.tags, ...b.tags },
    serviceResources: [...(a.serviceResources ?? []).filter((s) => !seen.has(s.id)), ...(b.serviceResources ?? [])],
    resourceToTagIds: { ...a.resourceToTagIds, ...b.resourceToTagIds },
  };
}
