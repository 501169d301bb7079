import { sql } from "kysely";
import type { Db } from "../storage/db.ts";
import { hashSecret, newSecret } from "./secrets.ts";

const SETTING_KEY = "general_psk_hash";

/**
 * Returns the hash of the general PSK. A configured `GATEHOUSE_PSK` wins. Otherwise the first
 * start generates a key, hands it to `announce` exactly once and stores only its hash, so the key
 * itself never rests on disk. Concurrent first starts agree on one key (insert-if-absent).
 */
export async function ensureGeneralPsk(
  db: Db,
  configured: string | undefined,
  announce: (psk: string) => void,
): Promise<string> {
  if (configured) return hashSecret(configured);
  const existing = await db.kysely
    .selectFrom("settings")
    .where("key", "=", SETTING_KEY)
    .select("value")
    .executeTakeFirst();
  if (existing) return existing.value as string;
  const psk = newSecret("ghp");
  const hash = hashSecret(psk);
  const inserted = await db.kysely
    .insertInto("settings")
    .values({ key: SETTING_KEY, value: JSON.stringify(hash) })
    .onConflict((oc) => oc.column("key").doNothing())
    .returning(sql<string>`value`.as("value"))
    .executeTakeFirst();
  if (!inserted) return ensureGeneralPsk(db, configured, announce);
  announce(psk);
  return hash;
}
