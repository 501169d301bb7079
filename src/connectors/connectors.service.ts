import { sql } from "kysely";
import { type AuditContext, recordAudit } from "../audit/audit.service.ts";
import { fail, isUniqueViolation } from "../directory/fail.ts";
import { ConnectorNameTaken, ConnectorNotFound, DeadLetterNotFound, ReferenceNotFound } from "../errors.ts";
import { sealCredential } from "../identity-sources/credential-box.ts";
import type { Queryable, Tx } from "../storage/db.ts";
import {
  type ConnectorRow,
  type ConnectorSecrets,
  type ConnectorSettings,
  findConnectorRow,
} from "./connector-model.ts";

/** A connector as the API shows it: settings, never its secrets (only whether they are set). */
export interface ConnectorView {
  id: string;
  name: string;
  kind: "keycloak" | "ranger";
  orgIds: string[];
  enabled: boolean;
  config: ConnectorSettings;
  secretSet: boolean;
  createdAt: string;
  updatedAt: string;
}

/** Fields of a new connector. */
export interface CreateConnectorInput {
  name: string;
  kind: "keycloak" | "ranger";
  orgIds: string[];
  enabled?: boolean | undefined;
  config: ConnectorSettings;
  secrets: ConnectorSecrets;
}

/** Changes to a connector; a secret given replaces the stored one, an absent one is kept. */
export interface UpdateConnectorInput {
  name?: string | undefined;
  orgIds?: string[] | undefined;
  enabled?: boolean | undefined;
  config?: Partial<ConnectorSettings> | undefined;
  secrets?: ConnectorSecrets | undefined;
}

/** The API view of a row. */
export function presentConnector(row: ConnectorRow): ConnectorView {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    orgIds: row.org_ids,
    enabled: row.enabled,
    config: row.config,
    secretSet: row.secret_ciphertext !== null,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** Reads a connector or throws CONNECTOR_NOT_FOUND naming `field`. */
export async function getConnectorRow(db: Queryable, id: string, field = "path.id"): Promise<ConnectorRow> {
  const row = await findConnectorRow(db, id);
  if (!row) throw fail(ConnectorNotFound, field, "exists", `connector \`${id}\` not found`);
  return row;
}

async function checkOrgs(tx: Tx, orgIds: string[]): Promise<void> {
  const found = await sql<{ id: string }>`select id from orgs where id = any(${orgIds}::uuid[])`.execute(tx);
  const known = new Set(found.rows.map((r) => r.id));
  const index = orgIds.findIndex((id) => !known.has(id));
  if (index >= 0) {
    throw fail(ReferenceNotFound, `body.orgIds[${index}]`, "exists", `organisation \`${orgIds[index]}\` not found`);
  }
}

async function sealSecrets(tx: Tx, secrets: ConnectorSecrets): Promise<string | null> {
  const present = Object.fromEntries(Object.entries(secrets).filter(([, v]) => typeof v === "string" && v !== ""));
  return Object.keys(present).length > 0 ? sealCredential(tx, JSON.stringify(present)) : null;
}

function nameTaken(name: string) {
  return fail(ConnectorNameTaken, "body.name", "unique", `connector \`${name}\` exists`);
}

/**
 * Creates a connector: its secrets sealed as identity-source credentials are, its audit event in
 * the same transaction. From the commit on, every change to a group of its organisations is queued
 * for it (migration 0013); groups that existed before reach the target by a reconcile.
 *
 * @throws CONNECTOR_NAME_TAKEN (409), REFERENCE_NOT_FOUND for an unknown organisation.
 */
export async function createConnector(tx: Tx, ctx: AuditContext, input: CreateConnectorInput): Promise<ConnectorView> {
  await checkOrgs(tx, input.orgIds);
  const sealed = await sealSecrets(tx, input.secrets);
  let row: ConnectorRow | undefined;
  try {
    row = (
      await sql<ConnectorRow>`
        insert into connectors (name, kind, org_ids, config, secret_ciphertext, enabled)
        values (${input.name}, ${input.kind}, ${input.orgIds}::uuid[], ${JSON.stringify(input.config)}::jsonb,
                ${sealed}, ${input.enabled ?? true})
        returning *`.execute(tx)
    ).rows[0];
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken(input.name);
    throw err;
  }
  const view = presentConnector(row as ConnectorRow);
  await recordAudit(tx, ctx, { action: "connector.created", targetType: "connector", targetId: view.id, after: view });
  return view;
}

/** Updates a connector (settings merged, secrets replaced when given); audited with before and after. */
export async function updateConnector(
  tx: Tx,
  ctx: AuditContext,
  id: string,
  input: UpdateConnectorInput,
): Promise<ConnectorView> {
  const current = await getConnectorRow(tx, id);
  if (input.orgIds) await checkOrgs(tx, input.orgIds);
  const config = { ...current.config, ...(input.config ?? {}) };
  const sealed =
    input.secrets && Object.values(input.secrets).some((v) => v) ? await sealSecrets(tx, input.secrets) : undefined;
  let row: ConnectorRow | undefined;
  try {
    row = (
      await sql<ConnectorRow>`
        update connectors set name = ${input.name ?? current.name}, org_ids = ${input.orgIds ?? current.org_ids}::uuid[],
          config = ${JSON.stringify(config)}::jsonb, enabled = ${input.enabled ?? current.enabled},
          secret_ciphertext = ${sealed === undefined ? current.secret_ciphertext : sealed}, updated_at = now()
        where id = ${id}::uuid returning *`.execute(tx)
    ).rows[0];
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken(input.name ?? "");
    throw err;
  }
  const view = presentConnector(row as ConnectorRow);
  const action =
    input.enabled !== undefined && input.enabled !== current.enabled && Object.keys(input).length === 1
      ? input.enabled
        ? "connector.enabled"
        : "connector.disabled"
      : "connector.updated";
  await recordAudit(tx, ctx, {
    action,
    targetType: "connector",
    targetId: id,
    before: presentConnector(current),
    after: view,
  });
  return view;
}

/** Deletes a connector with its queue and delivery state; what it delivered stays on the target. */
export async function deleteConnector(tx: Tx, ctx: AuditContext, id: string): Promise<void> {
  const current = await getConnectorRow(tx, id);
  await sql`delete from connectors where id = ${id}::uuid`.execute(tx);
  await recordAudit(tx, ctx, {
    action: "connector.deleted",
    targetType: "connector",
    targetId: id,
    before: presentConnector(current),
  });
}

/** A delivery parked after too many failures. */
export interface DeadLetterView {
  groupId: string;
  attempts: number;
  lastError: string | null;
  lastStatus: number | null;
  deadAt: string;
  pending: number;
}

/** The dead letters of a connector, oldest first. */
export async function listDeadLetters(db: Queryable, id: string): Promise<DeadLetterView[]> {
  const rows = await sql<{
    group_id: string;
    attempts: number;
    last_error: string | null;
    last_status: number | null;
    dead_at: Date;
    pending: number;
  }>`
    select s.group_id, s.attempts, s.last_error, s.last_status, s.dead_at,
      (select count(*)::int from connector_outbox o where o.connector_id = s.connector_id and o.group_id = s.group_id) as pending
    from connector_objects s where s.connector_id = ${id}::uuid and s.dead_at is not null
    order by s.dead_at, s.group_id limit 1000`.execute(db);
  return rows.rows.map((r) => ({
    groupId: r.group_id,
    attempts: r.attempts,
    lastError: r.last_error,
    lastStatus: r.last_status,
    deadAt: new Date(r.dead_at).toISOString(),
    pending: Number(r.pending),
  }));
}

/**
 * Retries a dead letter (back in the queue, attempts reset) or drops it (its queued changes
 * removed: the target keeps what it has until the next reconcile). Audited.
 *
 * @throws DEAD_LETTER_NOT_FOUND (404).
 */
export async function settleDeadLetter(
  tx: Tx,
  ctx: AuditContext,
  id: string,
  groupId: string,
  how: "retry" | "drop",
): Promise<void> {
  const found = await sql<{ group_id: string }>`
    select group_id from connector_objects
    where connector_id = ${id}::uuid and group_id = ${groupId}::uuid and dead_at is not null for update`.execute(tx);
  if (found.rows.length === 0) {
    throw fail(DeadLetterNotFound, "path.groupId", "exists", `group \`${groupId}\` has no dead-lettered delivery`);
  }
  if (how === "drop") {
    await sql`delete from connector_outbox where connector_id = ${id}::uuid and group_id = ${groupId}::uuid`.execute(
      tx,
    );
  }
  await sql`update connector_objects set dead_at = null, attempts = 0, next_attempt_at = null
            where connector_id = ${id}::uuid and group_id = ${groupId}::uuid`.execute(tx);
  await recordAudit(tx, ctx, {
    action: how === "retry" ? "connector.dead_letter.retried" : "connector.dead_letter.dropped",
    targetType: "connector",
    targetId: id,
    after: { connectorId: id, groupId },
  });
}
