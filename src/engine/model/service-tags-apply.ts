import type { RangerServiceResource, RangerTag, RangerTagDef, ServiceTags } from "../types.ts";
import { hasKeys, resourceChanged } from "./resource-elements.ts";

/**
 * The document `previous` becomes with Ranger tag delta `delta` applied (Ranger's
 * `RangerServiceTagsDeltaUtil.applyDelta`), for holders of a `ServiceTags` document that receive
 * deltas: the next full comparison (`diffServiceTags`) or rebuild needs the whole current
 * document. A full document (`isDelta` not true) is the answer itself. Neither input is changed
 * (engines keep parts of the documents they were given by reference); the answer is a new
 * document, O(its size).
 *
 * As Ranger: a tag definition without a name and a tag without a type are removed, others added
 * or replaced by id; a resource with neither a signature nor elements is removed with its
 * mapping, a new one is appended, a known one whose signature (or, when the delta has none, its
 * elements) changed moves to the end; `resourceToTagIds` entries replace the resource's tag ids;
 * no mapping left drops every tag; `tagsChangeExtent: "NONE"` changes definitions only. Two
 * differences, both towards what a fresh download holds: a known resource with the same signature
 * is replaced where it stands (its owner may have changed; Ranger keeps the old object), and an
 * empty tag-id list removes the mapping (a fresh download lists no entry for a resource without
 * tags).
 */
export function applyServiceTagsDelta(previous: ServiceTags, delta: ServiceTags): ServiceTags {
  if (delta.isDelta !== true) return delta;
  const header: ServiceTags = { ...previous };
  for (const key of ["serviceName", "tagVersion", "tagUpdateTime", "op", "tagModel"]) {
    if (delta[key] !== undefined) header[key] = delta[key];
  }
  header.isDelta = false;
  delete header.tagsChangeExtent;
  const tagDefinitions: Record<string, RangerTagDef> = { ...previous.tagDefinitions };
  for (const [id, d] of Object.entries(delta.tagDefinitions ?? {})) {
    if (d?.name) tagDefinitions[id] = d;
    else delete tagDefinitions[id];
  }
  // nothing but definitions changed (Gatehouse sends a changed definition this way)
  if (delta.tagsChangeExtent === "NONE") return { ...header, tagDefinitions };
  let tags: Record<string, RangerTag> = { ...previous.tags };
  for (const [id, t] of Object.entries(delta.tags ?? {})) {
    if (t?.type) tags[id] = t;
    else delete tags[id];
  }
  const resourceToTagIds: Record<string, number[]> = { ...previous.resourceToTagIds };

  const resources = [...(previous.serviceResources ?? [])];
  const at = new Map<string, number>();
  resources.forEach((r, i) => {
    at.set(String(r.id), i);
  });
  let removedAny = false;
  const appended: RangerServiceResource[] = [];
  for (const sr of delta.serviceResources ?? []) {
    const id = String(sr.id);
    const i = at.get(id);
    if (!sr.resourceSignature && !hasKeys(sr.resourceElements)) {
      if (i !== undefined) {
        at.delete(id);
        removedAny = true;
      }
      delete resourceToTagIds[id];
      continue;
    }
    if (i === undefined) {
      appended.push(sr);
      continue;
    }
    const old = resources[i] as RangerServiceResource;
    if (!resourceChanged({ signature: old.resourceSignature, elements: old.resourceElements }, sr)) {
      resources[i] = sr;
      continue;
    }
    at.delete(id);
    removedAny = true;
    appended.push(sr);
  }
  const kept = removedAny ? resources.filter((r, i) => at.get(String(r.id)) === i) : resources;
  for (const [id, ids] of Object.entries(delta.resourceToTagIds ?? {})) resourceToTagIds[id] = [...(ids ?? [])];
  if (isEmpty(resourceToTagIds)) tags = {};
  for (const id in resourceToTagIds) if (resourceToTagIds[id]?.length === 0) delete resourceToTagIds[id];
  return { ...header, tagDefinitions, tags, serviceResources: [...kept, ...appended], resourceToTagIds };
}

/**
 * A `ServiceTags` document kept current by deltas without copying it per delta: deltas are queued
 * and applied (`applyServiceTagsDelta`) only when the document is asked for, or once the queued
 * deltas name as many resources and tags as the document holds, so a change costs amortised
 * O(its size), not O(document). A full document replaces everything.
 */
export class HeldServiceTags {
  #document: ServiceTags;
  #queued: ServiceTags[] = [];
  #queuedSize = 0;

  constructor(document: ServiceTags) {
    this.#document = document;
  }

  /** The version of the last document or delta taken. */
  get tagVersion(): number | undefined {
    return this.#queued.at(-1)?.tagVersion ?? this.#document.tagVersion;
  }

  /** Takes a delta (queued) or a full document (replaces). */
  apply(serviceTags: ServiceTags): void {
    if (serviceTags.isDelta !== true) {
      this.#document = serviceTags;
      this.#queued = [];
      this.#queuedSize = 0;
      return;
    }
    this.#queued.push(serviceTags);
    this.#queuedSize += 1 + (serviceTags.serviceResources?.length ?? 0) + countKeys(serviceTags.tags);
    if (this.#queuedSize > (this.#document.serviceResources?.length ?? 0)) this.#flush();
  }

  /** The whole current document (deltas applied). Never mutate it. */
  get document(): ServiceTags {
    this.#flush();
    return this.#document;
  }

  #flush(): void {
    // all or nothing: a delta that throws leaves the document and the queue as they were
    let document = this.#document;
    for (const delta of this.#queued) document = applyServiceTagsDelta(document, delta);
    this.#document = document;
    this.#queued = [];
    this.#queuedSize = 0;
  }
}

function isEmpty(record: object): boolean {
  return !hasKeys(record);
}

function countKeys(record: object | undefined): number {
  let n = 0;
  for (const _ in record ?? {}) n++;
  return n;
}
