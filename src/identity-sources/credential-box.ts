import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { sql } from "kysely";
import type { Queryable } from "../storage/db.ts";

const SETTING_KEY = "identity_sources.credential_key";

/**
 * The key that encrypts stored bind credentials: derived from GATEHOUSE_SECRET_KEY when the
 * operator sets it (keep it outside the database), otherwise a random key generated once and kept
 * in the settings table, which still keeps credentials out of dumps of the sources table alone.
 */
async function keyOf(db: Queryable): Promise<Buffer> {
  const fromEnv = process.env.GATEHOUSE_SECRET_KEY;
  if (fromEnv) return createHash("sha256").update(fromEnv, "utf8").digest();
  const fresh = randomBytes(32).toString("base64");
  await sql`insert into settings (key, value) values (${SETTING_KEY}, ${JSON.stringify(fresh)}::jsonb)
            on conflict (key) do nothing`.execute(db);
  const row = await db.selectFrom("settings").where("key", "=", SETTING_KEY).select("value").executeTakeFirstOrThrow();
  return Buffer.from(row.value as string, "base64");
}

/** Encrypts a bind credential with AES-256-GCM: `v1.<iv>.<tag>.<ciphertext>` in base64url. */
export async function sealCredential(db: Queryable, plain: string): Promise<string> {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", await keyOf(db), iv);
  const body = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
  return ["v1", iv, cipher.getAuthTag(), body]
    .map((p) => (typeof p === "string" ? p : p.toString("base64url")))
    .join(".");
}

/** Decrypts what `sealCredential` produced; throws when the key changed or the text was altered. */
export async function openCredential(db: Queryable, sealed: string): Promise<string> {
  const [version, iv, tag, body] = sealed.split(".");
  if (version !== "v1" || !iv || !tag || !body) throw new Error("unknown credential format");
  const decipher = createDecipheriv("aes-256-gcm", await keyOf(db), Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]).toString("utf8");
}
