import { sql } from "kysely";
import type { Queryable } from "../storage/db.ts";

/** Which groups a connector carries: all, those whose name starts with a prefix, or listed ids. */
export interface GroupSelection {
  mode: "all" | "prefix" | "explicit";
  prefix?: string | undefined;
  groupIds?: string[] | undefined;
}

/** A connector's settings without secrets, as stored in `connectors.config`. */
export interface ConnectorSettings {
  baseUrl: string;
  /** Keycloak: the realm and the client of the client-credentials grant. */
  realm?: string | undefined;
  clientId?: string | undefined;
  /** Ranger: the Ranger Admin user. */
  username?: string | undefined;
  selection: GroupSelection;
  /** Carry memberships (default true); without them groups are sent with no members. */
  carryMemberships: boolean;
  /** Keycloak: create a member missing from the realm instead of reporting it. */
  createMissingUsers: boolean;
  /** Failed deliveries of a group before it is dead-lettered (else the configured default). */
  maxAttempts?: number | undefined;
  /** Longest delay between two attempts (else the configured default). */
  retryMaxMs?: number | undefined;
  /** Ranger: the Gatehouse services whose policies are pushed, each to its Ranger service. */
  policies?: PolicySettings | undefined;
}

/** Which policies a ranger connector pushes: Gatehouse service name → Ranger service name. */
export interface PolicySettings {
  services: Record<string, string>;
}

/** The secrets of a connector, sealed in `connectors.secret_ciphertext`, never returned. */
export interface ConnectorSecrets {
  clientSecret?: string | undefined;
  password?: string | undefined;
}

/** A `connectors` row. */
export interface ConnectorRow {
  id: string;
  name: string;
  kind: "keycloak" | "ranger";
  org_ids: string[];
  config: ConnectorSettings;
  secret_ciphertext: string | null;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
  last_success_at: Date | null;
  last_error: string | null;
  last_error_at: Date | null;
  last_reconcile_at: Date | null;
  last_reconcile: unknown;
}

/** Reads a connector row, or undefined. */
export async function findConnectorRow(db: Queryable, id: string): Promise<ConnectorRow | undefined> {
  const rows = await sql<ConnectorRow>`select * from connectors where id = ${id}::uuid`.execute(db);
  return rows.rows[0];
}

/** True when `selection` takes a group of this id and name. */
export function isSelected(selection: GroupSelection, group: { id: string; name: string }): boolean {
  if (selection.mode === "prefix") return group.name.toLowerCase().startsWith((selection.prefix ?? "").toLowerCase());
  if (selection.mode === "explicit") return (selection.groupIds ?? []).includes(group.id);
  return true;
}
