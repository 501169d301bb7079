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
  readonly tags: TagList;
}

/** The tags of a resource; resources with the same tag ids share one list. */
interface TagList {
  readonly tags: readonly RangerTagForEval[];
  /** per tag, its identity for deduplication without the match type (computed once, not per request) */
  readonly keys: readonly string[];
  /** index group: lists with equal keys share one, whatever their tag ids */
  readonly group: number;
}

export class TagStore {
  private readonly resources: TaggedResource[] = [];
  private readonly index: TagResourceIndex;

  constructor(serviceTags: ServiceTags | undefined, sd: PreparedServiceDef) {
    this.index = new TagResourceIndex(sd);
    if (!serviceTags) return;
    const tagsById = serviceTags.tags ?? {};
    const lists = new Map<string, TagList | null>();
    const groups = new Map<string, number>();
    const listOf = (ids: readonly number[]): TagList | null => {
      const idsKey = ids.join(",");
      let list = lists.get(idsKey);
      if (list !== undefined) return list;
      const tags: RangerTagForEval[] = [];
      const keys: string[] = [];
      for (const id of ids) {
        const t = tagsById[String(id)];
        if (!t) continue;
        const tag = {
          type: t.type,
          attributes: t.attributes ?? {},
          validityPeriods: t.validityPeriods,
          options: t.options,
        };
        tags.push(tag);
        keys.push(
          `${tag.type}\u0000${JSON.stringify(tag.attributes)}\u0000${JSON.stringify(tag.validityPeriods ?? null)}`,
        );
      }
      list = null;
      if (tags.length > 0) {
        const groupKey = keys.join("\u0001");
        let group = groups.get(groupKey);
        if (group === undefined) {
          group = groups.size;
          groups.set(groupKey, group);
        }
        list = { tags, keys, group };
      }
      lists.set(idsKey, list);
      return list;
    };
    for (const sr of serviceTags.serviceResources ?? []) {
      const tags = listOf(serviceTags.resourceToTagIds?.[String(sr.id)] ?? []);
      if (tags === null) continue;
      const matcher = new PolicyResourceMatcher(sd, 0, sr.resourceElements);
      this.index.add(this.resources.length, matcher, tags.group);
      this.resources.push({ matcher, tags });
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
      const { tags, keys } = r.tags;
      for (let j = 0; j < tags.length; j++) {
        seen ??= new Set();
        const key = `${matchType}\u0000${keys[j]}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ ...tags[j], matchType });
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
