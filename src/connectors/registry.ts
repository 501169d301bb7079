import { openCredential } from "../identity-sources/credential-box.ts";
import type { Queryable } from "../storage/db.ts";
import type { ConnectorRow, ConnectorSecrets } from "./connector-model.ts";
import { KeycloakTarget } from "./keycloak/keycloak-target.ts";
import { policyMapping } from "./policy-delivery.ts";
import { RangerPolicyClient } from "./ranger/ranger-policies.ts";
import { RangerTarget } from "./ranger/ranger-target.ts";
import type { ConnectorTarget } from "./target.ts";

/** Builds the target of one connector from its settings and its decrypted secrets. */
export type TargetFactory = (row: ConnectorRow, secrets: ConnectorSecrets) => ConnectorTarget;

/** Connector kind → target factory: the one place that knows which class speaks to which system. */
export const TARGET_FACTORIES: Partial<Record<ConnectorRow["kind"], TargetFactory>> = {
  keycloak: (row, secrets) =>
    new KeycloakTarget({
      baseUrl: row.config.baseUrl,
      realm: row.config.realm ?? "",
      clientId: row.config.clientId ?? "",
      clientSecret: secrets.clientSecret ?? "",
      createMissingUsers: row.config.createMissingUsers,
    }),
  ranger: (row, secrets) =>
    new RangerTarget({
      baseUrl: row.config.baseUrl,
      username: row.config.username ?? "",
      password: secrets.password ?? "",
    }),
};

/** The secrets of a connector, decrypted. */
export async function secretsOf(db: Queryable, row: ConnectorRow): Promise<ConnectorSecrets> {
  if (!row.secret_ciphertext) return {};
  return JSON.parse(await openCredential(db, row.secret_ciphertext)) as ConnectorSecrets;
}

/** The target of a connector, or null when its kind has no implementation in this build. */
export async function targetOf(db: Queryable, row: ConnectorRow): Promise<ConnectorTarget | null> {
  const factory = TARGET_FACTORIES[row.kind];
  return factory ? factory(row, await secretsOf(db, row)) : null;
}

/**
 * The Ranger public-API client that pushes a ranger connector's policies, or null when the
 * connector maps no service (`config.policies.services`).
 */
export async function policyClientOf(db: Queryable, row: ConnectorRow): Promise<RangerPolicyClient | null> {
  if (Object.keys(policyMapping(row)).length === 0) return null;
  const secrets = await secretsOf(db, row);
  return new RangerPolicyClient({
    baseUrl: row.config.baseUrl,
    username: row.config.username ?? "",
    password: secrets.password ?? "",
  });
}
