import { fail } from "../directory/fail.ts";
import { DirectoryGroupNotFound, DirectoryUnavailable, ReferenceNotFound } from "../errors.ts";
import type { Queryable } from "../storage/db.ts";
import { credentialOf, presentIdentitySource } from "./identity-sources.service.ts";
import { DnNotFound, ldapFailure, readEntry, withLdap } from "./ldap.client.ts";

/**
 * Confirms that a group DN exists in an identity source's directory before a group bound to it is
 * written (Puppet's `validate`; VMware Aria creates an orphan instead). With `validate` false only
 * the source itself is checked.
 *
 * @throws REFERENCE_NOT_FOUND for an unknown source; DIRECTORY_GROUP_NOT_FOUND (422) naming the DN;
 * DIRECTORY_UNAVAILABLE (502) when the directory cannot be reached or refuses the bind.
 */
export async function verifyDirectoryGroup(
  db: Queryable,
  orgId: string,
  identitySourceId: string,
  dn: string,
  validate: boolean,
): Promise<{ dn: string }> {
  const row = await db.selectFrom("identity_sources").where("id", "=", identitySourceId).selectAll().executeTakeFirst();
  if (!row || row.org_id !== orgId) {
    throw fail(
      ReferenceNotFound,
      "body.identitySourceId",
      "exists",
      `identity source \`${identitySourceId}\` not found in the organisation`,
    );
  }
  if (!validate) return { dn };
  const source = presentIdentitySource(row);
  try {
    const entry = await withLdap(source.config, await credentialOf(db, row), (client) =>
      readEntry(client, dn, source.config.groupFilter, ["dn"]),
    );
    return { dn: entry.dn };
  } catch (err) {
    if (err instanceof DnNotFound) {
      throw fail(
        DirectoryGroupNotFound,
        "body.externalId",
        "directoryGroupExists",
        `group \`${dn}\` not found in identity source \`${source.name}\` (give the full dn of a group matching ${source.config.groupFilter}); nothing was written`,
        { dn, identitySourceId },
      );
    }
    throw directoryUnavailable(source.name, err);
  }
}

/** Wraps a connection or bind failure in DIRECTORY_UNAVAILABLE (502), naming the source. */
export function directoryUnavailable(sourceName: string, err: unknown) {
  const reason = ldapFailure(err);
  return DirectoryUnavailable(`identity source \`${sourceName}\` failed: ${reason}`, {
    cause: err,
    details: [
      {
        field: "identitySource",
        rule: "reachable",
        message: `identity source \`${sourceName}\` failed: ${reason}`,
      },
    ],
  });
}
