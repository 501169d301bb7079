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
      this.index.add(this.resources.length, matcher);
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
    const count = candidates === null ? this.resources.length : candidates.length;
    let seen: Set<string> | null = null;
    for (let i = 0; i < count; i++) {
      const r = this.resources[candidates === null ? i : candidates[i]];
      const mt: MatchType = r.matcher.getMatchType(resource, scopes, STATIC_ENV);
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
