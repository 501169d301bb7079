import type { RangerPolicyResources, RangerServiceResource, RangerTag, ServiceTags } from "../types.ts";

/**
 * The Ranger tag delta that takes an engine built from (or brought to) `previous` to exactly where
 * a fresh build from `next` would be, for callers that hold whole documents but no change log
 * (Gatehouse keeps no tag deltas: a live engine can keep the document it last applied, read the
 * new one when `tagVersion` moves, and apply the difference instead of rebuilding).
 *
 * Tags are compared by id (type, attributes, validity periods, options), resources by id
 * (signature, else elements), mappings by resource id. A delta moves changed and added resources
 * to the end (Ranger's `applyDelta`), so when `next` lists its resources in another order than
 * that, no delta reproduces it exactly and the answer is `next` itself, a full document (which
 * `applyServiceTags` takes as a replacement); so is it when `next` maps no resource but lists tags.
 * Precondition: the engine's tags are those of `previous` (built from it, or brought to it by
 * `applyServiceTags`). Cost: O(size of both documents), no matcher built.
 */
export function diffServiceTags(previous: ServiceTags, next: ServiceTags): ServiceTags {
  const tags: Record<string, RangerTag> = {};
  const prevTags = previous.tags ?? {};
  const nextTags = next.tags ?? {};
  for (const id in nextTags) {
    const t = nextTags[id];
    if (!t?.type) continue;
    const p = prevTags[id];
    if (!p?.type || !sameTag(p, t)) tags[id] = t;
  }
  for (const id in prevTags) if (prevTags[id]?.type && !nextTags[id]?.type) tags[id] = { type: "" };

  const prevById = new Map<string, RangerServiceResource>();
  for (const sr of previous.serviceResources ?? []) prevById.set(String(sr.id), sr);
  const nextIds = new Set<string>();
  const resources: RangerServiceResource[] = [];
  /** ids of `next` that keep their place, in `next`'s order */
  const kept: string[] = [];
  let appendedYet = false;
  let inOrder = true;
  for (const sr of next.serviceResources ?? []) {
    const id = String(sr.id);
    nextIds.add(id);
    const p = prevById.get(id);
    if (p !== undefined && !changed(p, sr)) {
      // a kept resource after an added or changed one: a delta would put it before them
      if (appendedYet) inOrder = false;
      kept.push(id);
    } else {
      appendedYet = true;
      resources.push(sr);
    }
  }
  // kept resources must keep their relative order from `previous`
  let k = 0;
  for (const sr of previous.serviceResources ?? []) if (String(sr.id) === kept[k]) k++;
  if (!inOrder || k !== kept.length) return next;
  const removed: RangerServiceResource[] = [];
  for (const id of prevById.keys()) if (!nextIds.has(id)) removed.push({ id: Number(id), resourceElements: {} });

  const prevMap = previous.resourceToTagIds ?? {};
  const nextMap = next.resourceToTagIds ?? {};
  // a delta leaving no mapping drops every tag (Ranger), which `next` may still list
  if (isEmpty(nextMap) && !isEmpty(nextTags)) return next;
  const mappings: Record<string, number[]> = {};
  const removedIds = new Set(removed.map((r) => String(r.id)));
  const compareMapping = (id: string): void => {
    const want = nextMap[id];
    if (want == null && removedIds.has(id)) return; // the removal drops the mapping
    if (!sameIds(prevMap[id] ?? [], want ?? [])) mappings[id] = [...(want ?? [])];
  };
  for (const id in nextMap) compareMapping(id);
  for (const id in prevMap) if (!Object.hasOwn(nextMap, id)) compareMapping(id);
  for (const id of nextIds) if (!Object.hasOwn(nextMap, id) && !Object.hasOwn(prevMap, id)) compareMapping(id);
  const empty = Object.keys(tags).length === 0 && resources.length + removed.length === 0;
  if (empty && Object.keys(mappings).length === 0)
    return { serviceName: next.serviceName, tagVersion: next.tagVersion, isDelta: true, tagsChangeExtent: "NONE" };
  return {
    serviceName: next.serviceName,
    tagVersion: next.tagVersion,
    isDelta: true,
    tagsChangeExtent: resources.length + removed.length > 0 ? "SERVICE_RESOURCE" : "TAGS",
    tags,
    // removals first, so a removed id never shadows an added one
    serviceResources: [...removed, ...resources],
    resourceToTagIds: mappings,
  };
}

function isEmpty(record: object): boolean {
  for (const _ in record) return false;
  return true;
}

/** Same type, attributes, validity periods and options (JSON only where nesting is deep). */
function sameTag(a: RangerTag, b: RangerTag): boolean {
  if (a === b) return true;
  if (a.type !== b.type || !sameStrings(a.attributes ?? {}, b.attributes ?? {})) return false;
  if ((a.validityPeriods ?? null) !== (b.validityPeriods ?? null))
    if (JSON.stringify(a.validityPeriods ?? null) !== JSON.stringify(b.validityPeriods ?? null)) return false;
  if ((a.options ?? null) !== (b.options ?? null))
    if (JSON.stringify(a.options ?? null) !== JSON.stringify(b.options ?? null)) return false;
  return true;
}

function sameStrings(a: Record<string, string>, b: Record<string, string>): boolean {
  let n = 0;
  for (const k in a) {
    if (a[k] !== b[k]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

/** As `applyServiceTags` decides: by signature when the new version has one, else by elements. */
function changed(p: RangerServiceResource, n: RangerServiceResource): boolean {
  if (n.resourceSignature) return n.resourceSignature !== p.resourceSignature;
  return !sameElements(n.resourceElements, p.resourceElements);
}

/** Equal resource elements, key order aside (what `applyServiceTags` compares too). */
function sameElements(x: RangerPolicyResources | undefined, y: RangerPolicyResources | undefined): boolean {
  if (x === y) return true;
  const a = x ?? {};
  const b = y ?? {};
  let n = 0;
  for (const k in a) {
    const u = a[k];
    const v = b[k];
    if (v === undefined || (u?.isExcludes === true) !== (v?.isExcludes === true)) return false;
    if ((u?.isRecursive === true) !== (v?.isRecursive === true)) return false;
    const uv = u?.values ?? [];
    const vv = v?.values ?? [];
    if (uv.length !== vv.length) return false;
    for (let i = 0; i < uv.length; i++) if (uv[i] !== vv[i]) return false;
    n++;
  }
  for (const _ in b) n--;
  return n === 0;
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
