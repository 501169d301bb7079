import { sql } from "kysely";
import { readServiceState } from "../decisions/engine-source.ts";
import { ServiceNotFound } from "../errors.ts";
import type { Db } from "../storage/db.ts";
import { readServiceTags, type ServiceTagsDocument } from "../tags/service-tags.ts";

/** What a tag download answers: 304 (nothing newer) or Ranger's `ServiceTags`. */
export type TagDownload =
  | { status: 304; serviceId: number; version: number }
  | { status: 200; serviceId: number; version: number; body: ServiceTagsDocument };

/**
 * Ranger's `getServiceTagsIfUpdated`: 304 when the plugin's `lastKnownVersion` equals the
 * service's `tagVersion`; otherwise the whole `ServiceTags` (tag deltas are not kept, so
 * `isDelta` is false whatever `supportsTagDeltas` says, which Ranger plugins accept). The
 * version and the document are read in one REPEATABLE READ transaction, so they agree.
 */
export async function downloadServiceTags(db: Db, serviceName: string, lastKnownVersion: number): Promise<TagDownload> {
  const state = await readServiceState(db.kysely, serviceName);
  if (!state) throw ServiceNotFound(`service \`${serviceName}\` not found`);
  if (lastKnownVersion === state.tagVersion) return { status: 304, serviceId: state.id, version: state.tagVersion };
  return db.transaction(async (tx) => {
    await sql`set transaction isolation level repeatable read`.execute(tx);
    const current = await readServiceState(tx, serviceName);
    if (!current) throw ServiceNotFound(`service \`${serviceName}\` not found`);
    const body = await readServiceTags(tx, current);
    return { status: 200 as const, serviceId: current.id, version: current.tagVersion, body };
  });
}
