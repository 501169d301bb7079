import { sql } from "kysely";
import type { Queryable } from "../../storage/db.ts";

/** One download by a plugin, as recorded. */
export interface PluginDownload {
  serviceId: number;
  pluginId: string;
  kind: "policies" | "roles" | "tags";
  clusterName: string;
  lastKnownVersion: number | null;
  servedVersion: number | null;
  status: number;
  clientIp: string | null;
}

/** Records (upserts) the latest download of a plugin: Ranger's plugin info. */
export async function recordDownload(db: Queryable, d: PluginDownload): Promise<void> {
  await db
    .insertInto("plugin_downloads")
    .values({
      service_id: d.serviceId,
      plugin_id: d.pluginId,
      kind: d.kind,
      cluster_name: d.clusterName,
      last_known_version: d.lastKnownVersion,
      served_version: d.servedVersion,
      status: d.status,
      client_ip: d.clientIp,
    })
    .onConflict((oc) =>
      oc.columns(["service_id", "plugin_id", "kind"]).doUpdateSet({
        cluster_name: d.clusterName,
        last_known_version: d.lastKnownVersion,
        served_version: d.servedVersion,
        status: d.status,
        client_ip: d.clientIp,
        downloaded_at: sql`now()`,
      }),
    )
    .execute();
}

/** The plugins that downloaded from a service, most recent first. */
export async function listDownloads(db: Queryable, serviceId: number) {
  return db
    .selectFrom("plugin_downloads")
    .selectAll()
    .where("service_id", "=", serviceId)
    .orderBy("downloaded_at", "desc")
    .orderBy("plugin_id")
    .execute();
}
