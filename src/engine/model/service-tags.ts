import { STATIC_ENV } from "../match/element-matcher.ts";
import { type MatchType, PolicyResourceMatcher } from "../match/policy-resource-matcher.ts";
import type {
  RangerAccessResource,
  RangerPolicyResources,
  RangerServiceResource,
  RangerTag,
  RangerTagForEval,
  ResourceElementMatchingScope,
  ServiceTags,
} from "../types.ts";
import { OverlayRecord } from "./overlay-record.ts";
import { hasKeys, resourceChanged } from "./resource-elements.ts";
import type { PreparedServiceDef } from "./service-def.ts";
import { TagResourceIndex } from "./tag-index.ts";

/**
 * Tag enrichment (Ranger's `RangerTagEnricher`): finds the service resources that relate to the
 * requested resource and returns their tags with the relation as match type. Tags on ancestors
 * and on the resource itself always apply; tags on descendants only for any-access or
 * descendant-scoped requests. Only the candidates of a `TagResourceIndex` are matched, so a
 * lookup costs the related resources, not every tagged one.
 *
 * The store takes Ranger's tag deltas in place (`apply`), so a tag change costs the resources it
 * touches instead of a rebuild. Every service resource holds an ordinal, its position in the
 * `serviceResources` list a fresh build would read; `tagsFor` walks resources in ordinal order.
 *
 * INVARIANT (stable positions): after any sequence of `apply` calls, the live ordinals in ascending
 * order are the order of `serviceResources` in the document Ranger's
 * `RangerServiceTagsDeltaUtil.applyDelta` would produce (unchanged resources keep their place; added
 * and changed ones go to the end, in delta order), and each resource carries the tags a fresh
 * build would give it. Removed resources leave holes; `compact` renumbers once holes outnumber
 * live resources, so holes cost amortized O(1) per removal.
 */
interface Slot {
  readonly id: string;
  readonly matcher: PolicyResourceMatcher;
  /** what a delta compares to decide whether the resource changed (Ranger: the signature) */
  readonly signature: string | undefined;
  readonly elements: RangerPolicyResources;
  list: TagList;
}

/** The tags of a resource; resources with the same tag ids share one list. */
interface TagList {
  readonly idsKey: string;
  readonly ids: readonly number[];
  tags: readonly RangerTagForEval[];
  /** per tag, its identity for deduplication without the match type (computed once, not per request) */
  keys: readonly string[];
  /** index group: lists with equal keys share one, whatever their tag ids */
  group: number;
  /** ordinals of the resources carrying this list (unordered) */
  readonly users: number[];
}

/** Holes tolerated before a compaction is even considered. */
const MIN_HOLES_TO_COMPACT = 1024;

export class TagStore {
  private readonly sd: PreparedServiceDef;
  /** by ordinal; null where a resource was removed */
  private slots: (Slot | null)[] = [];
  private holes = 0;
  /** resources with at least one known tag: the ones filed in the index */
  private filed = 0;
  private index: TagResourceIndex;
  /** resource id → ordinal */
  private readonly byId = new Map<string, number>();
  /** tag id → tag (Ranger's `tags`) */
  private readonly tagsById = new OverlayRecord<RangerTag>();
  /** resource id → tag ids (Ranger's `resourceToTagIds`; kept for resources not present too) */
  private readonly mappings = new OverlayRecord<readonly number[]>();
  private readonly lists = new Map<string, TagList>();
  /** tag id → the lists naming it, so a tag change finds its resources */
  private readonly listsByTag = new Map<string, TagList | TagList[]>();
  private readonly groups = new Map<string, number>();

  constructor(serviceTags: ServiceTags | undefined, sd: PreparedServiceDef) {
    this.sd = sd;
    this.index = new TagResourceIndex(sd);
    if (serviceTags) this.load(serviceTags);
  }

  get isEmpty(): boolean {
    return this.filed === 0;
  }

  /**
   * Applies a Ranger `ServiceTags` document. A full document (`isDelta` not true) replaces every
   * tag. A delta (`isDelta: true`) is applied in place as Ranger's `applyDelta` does: a tag without
   * a type is removed, others are added or replaced by id; a resource with neither a signature nor
   * elements is removed with its mapping, a new one is added, a known one whose signature (or, when
   * the delta carries none, whose elements) changed moves to the end; `resourceToTagIds` entries
   * replace the resource's tag ids. `tagsChangeExtent: "NONE"` changes nothing. Tag definitions
   * play no part in decisions and are ignored.
   */
  apply(serviceTags: ServiceTags): void {
    if (serviceTags.isDelta !== true) {
      this.clear();
      this.load(serviceTags);
      return;
    }
    if (serviceTags.tagsChangeExtent === "NONE") return;
    this.applyTagChanges(serviceTags.tags ?? {});
    const newMappings = serviceTags.resourceToTagIds ?? {};
    for (const sr of serviceTags.serviceResources ?? []) {
      const id = String(sr.id);
      const o = this.byId.get(id);
      if (!sr.resourceSignature && !hasKeys(sr.resourceElements)) {
        if (o === undefined) continue;
        this.removeSlot(o);
        this.mappings.delete(id);
        continue;
      }
      if (o !== undefined) {
        const slot = this.slots[o] as Slot;
        if (!resourceChanged({ signature: slot.signature, elements: slot.elements }, sr)) continue;
        this.removeSlot(o);
      }
      this.addSlot(id, sr, newMappings[id] ?? this.mappings.get(id) ?? []);
    }
    for (const id in newMappings) {
      const ids = newMappings[id] ?? [];
      this.mappings.set(id, ids);
      const o = this.byId.get(id);
      if (o !== undefined) this.attach(o, this.listOf(ids));
    }
    // Ranger drops every tag when no resource maps to any
    if (this.mappings.isEmpty()) this.applyTagChanges(Object.fromEntries(this.tagsById.keys().map(removal)));
    if (this.holes >= MIN_HOLES_TO_COMPACT && this.holes > this.slots.length - this.holes) this.compact();
  }

  /**
   * True when the store can tell cheaply that no tagged resource is `resource` or above it (the
   * index's surelyUntagged): the request then needs no tag evaluation, and an access request can
   * take the engine's simple-grant path as in a service without tags.
   */
  surelyUntagged(resource: RangerAccessResource): boolean {
    return this.index.surelyUntagged(resource);
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
    const slots = this.slots;
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
            if ((slots[o] as Slot).matcher.getMatchType(resource, scopes, STATIC_ENV) === "DESCENDANT") {
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
    const count = order === null ? slots.length : order.length;
    let seen: Set<string> | null = null;
    for (let i = 0; i < count; i++) {
      const o = order === null ? i : order[i];
      const r = slots[o];
      // (a scan meets holes and untagged resources; the index files neither)
      if (r === null || r.list.tags.length === 0) continue;
      const mt: MatchType = descendants?.has(o) ? "DESCENDANT" : r.matcher.getMatchType(resource, scopes, STATIC_ENV);
      let ok = mt === "SELF" || mt === "SELF_AND_ALL_DESCENDANTS" || mt === "ANCESTOR";
      if (mt === "DESCENDANT") ok = descendantsCount;
      if (!ok) continue;
      const matchType = mt === "SELF_AND_ALL_DESCENDANTS" ? "SELF" : mt;
      const { tags, keys } = r.list;
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

  /** Fills an empty store from a full document. */
  private load(serviceTags: ServiceTags): void {
    this.tagsById.reset(serviceTags.tags);
    this.mappings.reset(serviceTags.resourceToTagIds);
    for (const sr of serviceTags.serviceResources ?? []) {
      const id = String(sr.id);
      this.addSlot(id, sr, this.mappings.get(id) ?? []);
    }
  }

  private clear(): void {
    this.slots = [];
    this.holes = 0;
    this.filed = 0;
    this.index = new TagResourceIndex(this.sd);
    this.byId.clear();
    this.tagsById.reset(undefined);
    this.mappings.reset(undefined);
    this.lists.clear();
    this.listsByTag.clear();
    this.groups.clear();
  }

  /** Appends a resource at the next ordinal with the tags of `ids`. */
  private addSlot(id: string, sr: RangerServiceResource, ids: readonly number[]): void {
    const o = this.slots.length;
    const list = this.listOf(ids);
    const slot: Slot = {
      id,
      matcher: new PolicyResourceMatcher(this.sd, 0, sr.resourceElements),
      signature: sr.resourceSignature || undefined,
      elements: sr.resourceElements,
      list,
    };
    this.slots.push(slot);
    this.byId.set(id, o);
    list.users.push(o);
    if (list.tags.length > 0) this.file(o, slot);
  }

  private removeSlot(o: number): void {
    const slot = this.slots[o] as Slot;
    if (slot.list.tags.length > 0) this.unfile(o, slot);
    this.release(slot.list, o);
    this.slots[o] = null;
    this.holes++;
    if (this.byId.get(slot.id) === o) this.byId.delete(slot.id);
  }

  /** Gives resource `o` the tags of `list`, refiling it when its group or taggedness changes. */
  private attach(o: number, list: TagList): void {
    const slot = this.slots[o] as Slot;
    const old = slot.list;
    if (old === list) return;
    const sameFiling =
      old.tags.length > 0 === list.tags.length > 0 && (list.tags.length === 0 || old.group === list.group);
    if (!sameFiling && old.tags.length > 0) this.unfile(o, slot);
    this.release(old, o);
    slot.list = list;
    list.users.push(o);
    if (!sameFiling && list.tags.length > 0) this.file(o, slot);
  }

  private file(o: number, slot: Slot): void {
    this.index.add(o, slot.matcher, slot.list.group);
    this.filed++;
  }

  private unfile(o: number, slot: Slot): void {
    this.index.remove(o, slot.matcher);
    this.filed--;
  }

  /** Adds, replaces or (without a type) removes tags by id, then refreshes the lists naming them. */
  private applyTagChanges(tags: Record<string, RangerTag>): void {
    const touched = new Set<TagList>();
    for (const id in tags) {
      const t = tags[id];
      const old = this.tagsById.get(id);
      if (!t?.type) {
        if (old === undefined) continue;
        this.tagsById.delete(id);
      } else {
        if (old !== undefined && sameTag(old, t)) continue;
        this.tagsById.set(id, t);
      }
      const named = this.listsByTag.get(id);
      if (named === undefined) continue;
      if (Array.isArray(named)) for (const list of named) touched.add(list);
      else touched.add(named);
    }
    for (const list of touched) this.refresh(list);
  }

  /** Recomputes a list's tags after a tag change; its resources move in the index when they must. */
  private refresh(list: TagList): void {
    const wasTagged = list.tags.length > 0;
    const oldGroup = list.group;
    this.resolve(list);
    const isTagged = list.tags.length > 0;
    if (wasTagged === isTagged && (!isTagged || oldGroup === list.group)) return;
    for (const o of list.users) {
      const slot = this.slots[o] as Slot;
      if (wasTagged) {
        this.index.remove(o, slot.matcher);
        this.filed--;
      }
      if (isTagged) this.file(o, slot);
    }
  }

  /** The shared list of tag ids `ids`, created on first use. */
  private listOf(ids: readonly number[]): TagList {
    const idsKey = ids.join(",");
    let list = this.lists.get(idsKey);
    if (list !== undefined) return list;
    list = { idsKey, ids, tags: [], keys: [], group: -1, users: [] };
    this.resolve(list);
    this.lists.set(idsKey, list);
    for (const id of distinct(ids)) {
      const named = this.listsByTag.get(id);
      if (named === undefined) this.listsByTag.set(id, list);
      else if (Array.isArray(named)) named.push(list);
      else this.listsByTag.set(id, [named, list]);
    }
    return list;
  }

  /** Drops ordinal `o` from the list's users, and the list itself once nobody carries it. */
  private release(list: TagList, o: number): void {
    swapRemove(list.users, o);
    if (list.users.length > 0) return;
    this.lists.delete(list.idsKey);
    for (const id of distinct(list.ids)) {
      const named = this.listsByTag.get(id);
      if (named === list) this.listsByTag.delete(id);
      else if (Array.isArray(named)) {
        swapRemove(named, list);
        if (named.length === 1) this.listsByTag.set(id, named[0]);
      }
    }
  }

  /** Fills the list's tags, keys and group from the current tags (unknown ids are skipped). */
  private resolve(list: TagList): void {
    const tags: RangerTagForEval[] = [];
    const keys: string[] = [];
    for (const id of list.ids) {
      const t = this.tagsById.get(String(id));
      if (!t) continue;
      const tag = evalForm(t);
      tags.push(tag);
      keys.push(tagKey(tag));
    }
    list.tags = tags;
    list.keys = keys;
    list.group = -1;
    if (tags.length === 0) return;
    const groupKey = keys.join("\u0001");
    let group = this.groups.get(groupKey);
    if (group === undefined) {
      group = this.groups.size;
      this.groups.set(groupKey, group);
    }
    list.group = group;
  }

  /** Renumbers live resources 0..n-1 in order and refiles them: O(resources), once per that many removals. */
  private compact(): void {
    const live = this.slots.filter((s): s is Slot => s !== null);
    this.slots = live;
    this.holes = 0;
    this.filed = 0;
    this.index = new TagResourceIndex(this.sd);
    this.byId.clear();
    for (const list of this.lists.values()) list.users.length = 0;
    for (let o = 0; o < live.length; o++) {
      const slot = live[o];
      this.byId.set(slot.id, o);
      slot.list.users.push(o);
      if (slot.list.tags.length > 0) this.file(o, slot);
    }
  }
}

/** A tag as requests see it (without its id and bookkeeping). */
function evalForm(t: RangerTag): RangerTagForEval {
  return { type: t.type, attributes: t.attributes ?? {}, validityPeriods: t.validityPeriods, options: t.options };
}

function tagKey(tag: RangerTagForEval): string {
  return `${tag.type}\u0000${JSON.stringify(tag.attributes)}\u0000${JSON.stringify(tag.validityPeriods ?? null)}`;
}

/** Whether two tags look the same to requests. */
function sameTag(a: RangerTag, b: RangerTag): boolean {
  const x = evalForm(a);
  const y = evalForm(b);
  return tagKey(x) === tagKey(y) && JSON.stringify(x.options ?? null) === JSON.stringify(y.options ?? null);
}

/** The ids as strings, each once (most lists have one). */
function distinct(ids: readonly number[]): readonly string[] {
  if (ids.length === 1) return [String(ids[0])];
  return [...new Set(ids.map(String))];
}

/** A delta entry removing tag `id` (a tag without a type). */
function removal(id: string): [string, RangerTag] {
  return [id, { type: "" }];
}

function swapRemove<T>(list: T[], item: T): void {
  const i = list.indexOf(item);
  if (i < 0) return;
  list[i] = list[list.length - 1];
  list.pop();
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
