import { ValidationFailed } from "../errors.ts";
import { scimFail } from "./errors.ts";

/** Sources whose entries another process keeps: SCIM must not fight it over them. */
const FOREIGN = new Set(["ldap", "ranger-usersync", "oidc"]);

/**
 * Refuses a SCIM write to a user or group that an LDAP sync, Ranger usersync or OIDC owns
 * (scimType `mutability`): the next sync would undo it. Local entries may be adopted: a SCIM
 * write makes them `scim` entries.
 */
export function writableBySCIM(row: { id: string; source: string }, kind: "user" | "group"): void {
  if (FOREIGN.has(row.source)) {
    throw scimFail(
      ValidationFailed,
      "mutability",
      "path.id",
      `${kind} \`${row.id}\` is kept by source \`${row.source}\`; change it there`,
    );
  }
}
