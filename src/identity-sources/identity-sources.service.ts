import { type AuditContext, recordAudit } from "../audit/audit.service.ts";
import type { Actor } from "../auth/actor.ts";
import { fail } from "../directory/fail.ts";
import { assertSameOrg } from "../directory/org-scope.ts";
import { IdentitySourceNameTaken, IdentitySourceNotFound, SyncScheduleInvalid, ValidationFailed } from "../errors.ts";
import type { Queryable, Tx } from "../storage/db.ts";
import type { IdentitySourceRow } from "../storage/schema.ts";
import { openCredential, sealCredential } from "./credential-box.ts";
import { LDAP_DEFAULTS, type LdapConfig } from "./ldap-config.ts";
import { parseSchedule } from "./sync/schedule.ts";

/** An identity source as the API shows it; the credential itself is never returned. */
export interface IdentitySourceView {
  id: string;
  orgId: string;
  name: string;
  kind: "ldap";
  config: LdapConfig;
  /** How the bind credential is held: encrypted in the database, named environment variable, or none. */
  credential: { kind: "stored" | "env" | "none"; env: string | null };
  createdAt: string;
  updatedAt: string;
}

/** Fields of a new identity source. */
export interface CreateIdentitySourceInput {
  orgId: string;
  name: string;
  kind: "ldap";
  config: Partial<LdapConfig> & { url: string; baseDn: string };
  /** The bind password, stored encrypted (AES-256-GCM). */
  bindCredential?: string | undefined;
  /** Or the name of an environment variable that holds it (never stored). */
  bindCredentialEnv?: string | undefined;
}

/** Changes to an identity source; `config` keys are merged into the current settings. */
export type UpdateIdentitySourceInput = Partial<Omit<CreateIdentitySourceInput, "orgId" | "kind" | "config">> & {
  config?: Partial<LdapConfig> | undefined;
};

/** Maps a stored identity source to its public view. */
export function presentIdentitySource(row: IdentitySourceRow): IdentitySourceView {
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    kind: row.kind,
    config: { ...LDAP_DEFAULTS, ...(row.config as Partial<LdapConfig>) } as LdapConfig,
    credential: {
      kind: row.credential_ciphertext ? "stored" : row.credential_env ? "env" : "none",
      env: row.credential_env,
    },
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** Reads an identity source or throws IDENTITY_SOURCE_NOT_FOUND naming `field` with `factory`'s status. */
export async function getIdentitySourceRow(db: Queryable, id: string, field = "path.id"): Promise<IdentitySourceRow> {
  const row = await db.selectFrom("identity_sources").where("id", "=", id).selectAll().executeTakeFirst();
  if (!row) throw fail(IdentitySourceNotFound, field, "exists", `identity source \`${id}\` not found`);
  return row;
}

/** The identity source `id`, when the actor may see its organisation (404 otherwise, 403 across organisations). */
export async function identitySourceIn(db: Queryable, actor: Actor, id: string): Promise<IdentitySourceRow> {
  const row = await getIdentitySourceRow(db, id);
  assertSameOrg(actor, row.org_id);
  return row;
}

/** Every identity source of an organisation, oldest first (few per organisation, so unpaged). */
export async function listIdentitySources(db: Queryable, orgId: string): Promise<IdentitySourceRow[]> {
  return db.selectFrom("identity_sources").where("org_id", "=", orgId).selectAll().orderBy("created_at").execute();
}

/** The bind credential of a source: decrypted, or read from its environment variable. */
export async function credentialOf(db: Queryable, row: IdentitySourceRow): Promise<string> {
  if (row.credential_ciphertext) return openCredential(db, row.credential_ciphertext);
  if (row.credential_env) return process.env[row.credential_env] ?? "";
  return "";
}

/** Refuses a sync schedule that is neither an interval nor a cron expression, naming the field. */
function checkSchedule(config: Partial<LdapConfig> | undefined): void {
  const schedule = config?.syncSchedule;
  if (schedule !== undefined && schedule !== null && !parseSchedule(schedule)) {
    throw fail(
      SyncScheduleInvalid,
      "body.config.syncSchedule",
      "schedule",
      `\`${schedule}\` is neither an interval (\`5m\`, \`1h\`) nor a cron expression`,
    );
  }
}

function checkCredentialChoice(input: UpdateIdentitySourceInput): void {
  checkSchedule(input.config);
  if (input.bindCredential !== undefined && input.bindCredentialEnv !== undefined) {
    throw fail(
      ValidationFailed,
      "body.bindCredentialEnv",
      "oneOf",
      "give bindCredential or bindCredentialEnv, not both",
    );
  }
}

async function nameTaken(db: Queryable, orgId: string, name: string, exceptId?: string) {
  let query = db
    .selectFrom("identity_sources")
    .where("org_id", "=", orgId)
    .where((eb) => eb(eb.fn("lower", ["name"]), "=", name.toLowerCase()));
  if (exceptId) query = query.where("id", "<>", exceptId);
  const row = await query.select("id").executeTakeFirst();
  if (row) {
    throw fail(IdentitySourceNameTaken, "body.name", "unique", `identity source \`${name}\` exists`, {
      existingId: row.id,
    });
  }
}

/**
 * Registers an LDAP identity source. The bind credential is encrypted before it is stored, or
 * only the name of the environment variable holding it is kept; the audit event never holds it.
 */
export async function createIdentitySource(
  tx: Tx,
  ctx: AuditContext,
  input: CreateIdentitySourceInput,
): Promise<IdentitySourceView> {
  checkCredentialChoice(input);
  await nameTaken(tx, input.orgId, input.name);
  const row = await tx
    .insertInto("identity_sources")
    .values({
      org_id: input.orgId,
      name: input.name,
      kind: input.kind,
      config: JSON.stringify({ ...LDAP_DEFAULTS, ...input.config }),
      credential_ciphertext: input.bindCredential ? await sealCredential(tx, input.bindCredential) : null,
      credential_env: input.bindCredentialEnv ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const view = presentIdentitySource(row);
  await recordAudit(tx, ctx, {
    action: "identity_source.created",
    targetType: "identity_source",
    targetId: row.id,
    orgId: row.org_id,
    after: view,
  });
  return view;
}

/** Updates an identity source; a new credential replaces the old one (either kind). */
export async function updateIdentitySource(
  tx: Tx,
  ctx: AuditContext,
  id: string,
  input: UpdateIdentitySourceInput,
): Promise<IdentitySourceView> {
  checkCredentialChoice(input);
  const current = await getIdentitySourceRow(tx, id);
  if (input.name !== undefined) await nameTaken(tx, current.org_id, input.name, id);
  const credential =
    input.bindCredential !== undefined
      ? { credential_ciphertext: await sealCredential(tx, input.bindCredential), credential_env: null }
      : input.bindCredentialEnv !== undefined
        ? { credential_ciphertext: null, credential_env: input.bindCredentialEnv }
        : {};
  const row = await tx
    .updateTable("identity_sources")
    .set({
      ...(input.name !== undefined ? { name: input.name } : {}),
      ...(input.config !== undefined
        ? { config: JSON.stringify({ ...(current.config as object), ...input.config }) }
        : {}),
      ...credential,
      updated_at: new Date(),
    })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
  const view = presentIdentitySource(row);
  await recordAudit(tx, ctx, {
    action: "identity_source.updated",
    targetType: "identity_source",
    targetId: id,
    orgId: row.org_id,
    before: presentIdentitySource(current),
    after: view,
  });
  return view;
}

/** Deletes an identity source; groups bound to it keep their DN and become unbound. */
export async function deleteIdentitySource(tx: Tx, ctx: AuditContext, id: string): Promise<void> {
  const current = await getIdentitySourceRow(tx, id);
  await tx.updateTable("groups").set({ identity_source_id: null }).where("identity_source_id", "=", id).execute();
  await tx.deleteFrom("identity_sources").where("id", "=", id).execute();
  await recordAudit(tx, ctx, {
    action: "identity_source.deleted",
    targetType: "identity_source",
    targetId: id,
    orgId: current.org_id,
    before: presentIdentitySource(current),
  });
}
