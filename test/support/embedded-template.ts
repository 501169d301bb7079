import { createHash, randomUUID } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { migrate, readMigrations } from "../../src/storage/migrate.ts";
import { openDb } from "../../src/storage/open.ts";

/**
 * A copy of a new embedded database, migrated or not, kept in the OS temp folder and named by the
 * PGlite version and the migrations' text, so test files start their in-memory database from it in
 * under a second instead of paying PGlite's initdb (about 3.5 s) and the migrations each time. The
 * first worker to need a copy writes it; others that race it write their own and the last rename
 * wins, which is harmless because the copies are equal.
 */
export async function embeddedTemplate(kind: "empty" | "migrated"): Promise<Blob> {
  const path = join(tmpdir(), `gatehouse-test-${kind}-${templateKey()}.tar`);
  if (existsSync(path)) return new Blob([readFileSync(path)]);
  const db = await openDb({});
  try {
    if (kind === "migrated") await migrate(db);
    const dump = await (db.dumpDataDir as () => Promise<Blob>)();
    const partial = `${path}.${randomUUID()}`;
    writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
    renameSync(partial, path);
    return dump;
  } finally {
    await db.close();
  }
}

function templateKey(): string {
  const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
  const pglite = readFileSync(join(root, "node_modules", "@electric-sql", "pglite", "package.json"), "utf8");
  const hash = createHash("sha256").update(pglite);
  for (const migration of readMigrations()) hash.update(`${migration.version}\n${migration.sql}`);
  return hash.digest("hex").slice(0, 16);
}
