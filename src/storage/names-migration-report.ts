import type { Db } from "./db.ts";

/** The migration that brought stored names under the NFC rule (migrations/0017_names_nfc.sql). */
export const NAMES_NFC_MIGRATION = 17;

/** What migration 0017 changed and found, from the summary audit event it recorded. */
export interface NamesMigrationReport {
  normalised: number;
  collisionRenamed: number;
  policiesRewritten: number;
  invisible: number;
}

/**
 * The summary of migration 0017 (null when it recorded none), so the server and `gatehouse migrate`
 * can say at once, in the log, that names were renamed or hold invisible characters: the audit
 * trail (`action=name.*`) lists each of them, and an administrator has to look.
 */
export async function namesMigrationReport(db: Db): Promise<NamesMigrationReport | null> {
  const rows = await db.withSession((s) =>
    s.query<{ after: NamesMigrationReport }>(
      "select after from audit_events where action = 'names.normalised' and request_id = 'migration-0017' order by id desc limit 1",
    ),
  );
  const after = rows[0]?.after;
  if (!after) return null;
  return {
    normalised: Number(after.normalised),
    collisionRenamed: Number(after.collisionRenamed),
    policiesRewritten: Number(after.policiesRewritten),
    invisible: Number(after.invisible),
  };
}

/** The log line of a report: a warning when something needs an administrator, else information. */
export function namesMigrationMessage(report: NamesMigrationReport): { level: "info" | "warn"; message: string } {
  const attention = report.collisionRenamed > 0 || report.invisible > 0;
  return {
    level: attention ? "warn" : "info",
    message:
      `stored names normalised to NFC: ${report.normalised} rewritten, ${report.collisionRenamed} renamed for a ` +
      `collision (suffix -nfc-<id>), ${report.policiesRewritten} policies rewritten, ${report.invisible} names ` +
      "with invisible characters left as they are; each is in the audit trail (GET /v1/audit/events?action=name.*)",
  };
}
