import { sql } from "kysely";
import { readServiceState } from "../../decisions/engine-source.ts";
import { ServiceNotFound } from "../../errors.ts";
import type { Db } from "../../storage/db.ts";
import { readServiceTags, type ServiceTagsDocument } from "../../tags/service-tags.ts";
import { readServiceTagsDelta } from "../../tags/service-tags-delta.ts";

/** What a tag download answers: 304 (nothing newer) or Ranger's `ServiceTags` (whole, or a delta). */
export type TagDownload =
  | { status: 304; serviceId: number; version: number }
  | { status: 200; serviceId: number; version: number; body: ServiceTagsDocument };

/**
 * Ranger's `getServiceTagsIfUpdated`: 304 when the plugin's `lastKnownVersion` equals the
 * service's `tagVersion`. Otherwise, for a plugin that `supportsTagDeltas`, the changes since its
 * version as a `ServiceTags` delta (`isDelta: true`, `readServiceTagsDelta`) when the tag change
 * log bridges the gap; the whole `ServiceTags` (`isDelta: false`) when it does not (pruned, a
 * version the service never had, `-1`, a change a delta cannot reproduce) or the plugin takes no
 * deltas. The version and the answer are read in one REPEATABLE READ transaction, so they agree.
 */
export async function downloadServiceTags(
  db: Db,
  serviceName: string,
  lastKnownVersion: number,
  supportsTagDeltas = false,
): Promise<TagDownload> {
  const state = await readServiceState(db.kysely, serviceName);
  if (!state) throw ServiceNotFound(`service \`${serviceName}\` not found`);
  if (lastKnownVersion === state.tagVersion) return { status: 304, serviceId: state.id, version: state.tagVersion };
  return db.transaction(async (tx) => {
    await sql`set transaction isolation level repeatable read`.execute(tx);
    const current = await readServiceState(tx, serviceName);
    if (!current) throw ServiceNotFound(`service \`${serviceName}\` not found`);
    const base = { serviceId: current.id, version: current.tagVersion };
    if (lastKnownVersion === current.tagVersion) return { status: 304 as const, ...base };
    const delta = supportsTagDeltas ? await readServiceTagsDelta(tx, current, lastKnownVersion) : null;
    return { status: 200 as const, ...base, body: delta ?? (await readServiceTags(tx, current)) };
  });
}
