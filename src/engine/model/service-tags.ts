import { STATIC_ENV } from "../match/element-matcher.ts";
import { type MatchType, PolicyResourceMatcher } from "../match/policy-resource-matcher.ts";
import type { RangerAccessResource, RangerTagForEval, ResourceElementMatchingScope, ServiceTags } from "../types.ts";
import type { PreparedServiceDef } from "./service-def.ts";
import { TagResourceIndex } from "./tag-index.ts";

/**
 * Tag enrichment (Ranger's `RangerTagEnricher`): finds the service resources that relate to the
 * requested resource and returns their tags with the relation as match type. Tags on ancestors
 * and on the resource itself always apply; tags on descendants only for any-access or
 * descendant-scoped requests. Only the candidates of a `TagResourceIndex` are matched, so a
 * lookup costs the related resources, not every tagged one.
 */
interface TaggedResource {
  readonly matcher: PolicyResourceMatcher;
  readonly tags: readonly RangerTagForEval[];
  /** per tag, its identity for deduplication without the match type (computed once, not per request) */
  readonly tagKeys: readonly string[];
}

export class TagStore {
  private readonly resources: TaggedResource[] = [];
  private readonly index: TagResourceIndex;
  /** tag sets by their keys: resources with equal tags share a group in the index */
  private readonly tagSets = new Map<string, number>();

  constructor(serviceTags: ServiceTags | undefined, sd: PreparedServiceDef) {
    this.index = new TagResourceIndex(sd);
    if (!serviceTags) return;
    const tagsById = serviceTags.tags ?? {};
    for (const sr of serviceTags.serviceResources ?? []) {
      const ids = serviceTags.resourceToTagIds?.[String(sr.id)] ?? [];
      const tags: RangerTagForEval[] = [];
      for (const id of ids) {
        const t = tagsById[String(id)];
        if (!t) continue;
        tags.push({
          type: t.type,
          attributes: t.attributes ?? {},
          validityPeriods: t.validityPeriods,
          options: t.options,
        });
      }
      if (tags.length === 0) continue;
      const tagKeys = tags.map(
        (t) => `${t.type}\u0000${JSON.stringify(t.attributes ?? {})}\u0000${JSON.stringify(t.validityPeriods ?? null)}`,
      );
      const matcher = new PolicyResourceMatcher(sd, 0, sr.resourceElements);
      const setKey = tagKeys.join("\u0001");
      let group = this.tagSets.get(setKey);
      if (group === undefined) {
        group = this.tagSets.size;
        this.tagSets.set(setKey, group);
      }
      this.index.add(this.resources.length, matcher, group);
      this.resources.push({ matcher, tags, tagKeys });
    }
  }

  get isEmpty(): boolean {
    return this.resources.length === 0;
  }

  /**
   * Tags of the resources related to `resource`. Like Ranger's set of `RangerTagForEval`, the same
   * tag (type, attributes, validity, match type) reached through several resources counts once.
   */
  tagsFor(
    resource: RangerAccessResource,
    descendantsCount: boolean,
    scopes?: Record<string, ResourceElementMatchingScope>,
  ): RangerTagForEval[] {
    const out: RangerTagForEval[] = [];
    const candidates = this.index.candidates(resource, descendantsCount, scopes);
    let order: readonly number[] | null = null;
    let descendants: Set<number> | null = null;
    if (candidates !== null) {
      order = candidates.near;
      if (candidates.far.length > 0) {
        // per group, the first DESCENDANT stands for all (the index's INVARIANT: far is DESCENDANT or NONE)
        descendants = new Set();
        for (const group of candidates.far)
          for (const o of group)
            if (this.resources[o].matcher.getMatchType(resource, scopes, STATIC_ENV) === "DESCENDANT") {
              descendants.add(o);
              break;
            }
        if (descendants.size > 0)
          order = mergeAscending(
            order,
            [...descendants].sort((a, b) => a - b),
          );
      }
    }
    const count = order === null ? this.resources.length : order.length;
    let seen: Set<string> | null = null;
    for (let i = 0; i < count; i++) {
      const o = order === null ? i : order[i];
      const r = this.resources[o];
      const mt: MatchType = descendants?.has(o) ? "DESCENDANT" : r.matcher.getMatchType(resource, scopes, STATIC_ENV);
      let ok = mt === "SELF" || mt === "SELF_AND_ALL_DESCENDANTS" || mt === "ANCESTOR";
      if (mt === "DESCENDANT") ok = descendantsCount;
      if (!ok) continue;
      const matchType = mt === "SELF_AND_ALL_DESCENDANTS" ? "SELF" : mt;
      for (let j = 0; j < r.tags.length; j++) {
        seen ??= new Set();
        const key = `${matchType}\u0000${r.tagKeys[j]}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ ...r.tags[j], matchType });
      }
    }
    return out;
  }
}

/** Union of two ascending lists, ascending, without duplicates. */
function mergeAscending(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i++] : b[j++];
    if (out.length === 0 || out[out.length - 1] !== x) out.push(x);
  }
  return out;
}
