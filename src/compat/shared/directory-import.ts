import type { AuditContext } from "../../audit/audit.service.ts";
import { fail } from "../../directory/fail.ts";
import { batchMembers } from "../../directory/members.service.ts";
import { createUser, findUserByUsername } from "../../directory/users.service.ts";
import { IdentitySourceNotFound } from "../../errors.ts";
import { directoryUnavailable, verifyDirectoryGroup } from "../../identity-sources/directory-check.ts";
import { groupMembers, searchGroups } from "../../identity-sources/directory-search.ts";
import {
  credentialOf,
  getIdentitySourceRow,
  listIdentitySources,
  presentIdentitySource,
} from "../../identity-sources/identity-sources.service.ts";
import { DnNotFound, firstValue, readEntry, withLdap } from "../../identity-sources/ldap.client.ts";
import type { Queryable, Tx } from "../../storage/db.ts";
import type { IdentitySourceRow } from "../../storage/schema.ts";
import { everyPage } from "./reads.ts";

// Remote groups (Puppet's user groups, Aria's imported groups) mirror a directory group: the
// directory decides who is in them. These functions read the directory before a transaction
// opens, then write what they read into the native model (users with source `ldap`, direct
// memberships), so the group shows its members in `/v1/groups/{id}/members` like any other.

/** A user of a directory group, as read from its entry. */
export interface DirectoryPerson {
  dn: string;
  username: string;
  email: string | null;
  displayName: string | null;
}

/** A directory group located in one of the organisation's identity sources. */
export interface LocatedGroup {
  source: IdentitySourceRow;
  dn: string;
}

/** Most members one import writes: the directory's batch limit. */
export const IMPORT_MAX_MEMBERS = 10_000;

const looksLikeDn = (text: string) => /^[A-Za-z][\w-]*=.+/.test(text) && text.includes(",");

/**
 * Finds a directory group by login: a full DN is checked as is, anything else is matched
 * (case-insensitively, exactly) against the group name attribute of each candidate source — the
 * one named, else every LDAP source of the organisation in creation order. Returns null when no
 * source holds it.
 *
 * @throws IDENTITY_SOURCE_NOT_FOUND for a named source outside the organisation; DIRECTORY_UNAVAILABLE.
 */
export async function locateDirectoryGroup(
  db: Queryable,
  orgId: string,
  sourceId: string | undefined,
  login: string,
): Promise<LocatedGroup | null> {
  const sources = sourceId ? [await getIdentitySourceRow(db, sourceId)] : await listIdentitySources(db, orgId);
  for (const source of sources) {
    if (source.org_id !== orgId) {
      throw fail(
        IdentitySourceNotFound,
        "body.identitySourceId",
        "exists",
        `identity source \`${source.id}\` not found`,
      );
    }
    if (looksLikeDn(login)) {
      try {
        const found = await verifyDirectoryGroup(db, orgId, source.id, login, true);
        return { source, dn: found.dn };
      } catch (err) {
        if ((err as { code?: string }).code === "DIRECTORY_GROUP_NOT_FOUND") continue;
        throw err;
      }
    }
    if (login.includes("*")) continue;
    const page = await searchGroups(db, source, { search: login, limit: 10 });
    const match = page.items.find((g) => g.name?.toLowerCase() === login.toLowerCase());
    if (match) return { source, dn: match.dn };
  }
  return null;
}

/**
 * Reads the users of a directory group, nested groups expanded, each with its login name, mail and
 * display name. A member whose entry lacks the login attribute is named by its RDN value.
 *
 * @throws DIRECTORY_GROUP_NOT_FOUND (422), DIRECTORY_UNAVAILABLE (502).
 */
export async function readDirectoryUsers(db: Queryable, source: IdentitySourceRow, dn: string) {
  const members = await everyPage((cursor) => groupMembers(db, source, { dn, nested: true, limit: 1000, cursor }));
  const view = presentIdentitySource(source);
  const config = view.config;
  const people: DirectoryPerson[] = [];
  try {
    await withLdap(config, await credentialOf(db, source), async (client) => {
      for (const member of members.slice(0, IMPORT_MAX_MEMBERS)) {
        try {
          const entry = await readEntry(client, member.dn, "(objectClass=*)", [
            config.userNameAttribute,
            "mail",
            "displayName",
            "cn",
          ]);
          people.push({
            dn: member.dn,
            username: firstValue(entry, config.userNameAttribute) ?? rdnValue(member.dn),
            email: firstValue(entry, "mail"),
            displayName: firstValue(entry, "displayName") ?? firstValue(entry, "cn"),
          });
        } catch (err) {
          // A member DN pointing nowhere (a deleted user) is skipped, as directory syncs do.
          if (!(err instanceof DnNotFound)) throw err;
        }
      }
    });
  } catch (err) {
    if ((err as { code?: string }).code) throw err;
    throw directoryUnavailable(view.name, err);
  }
  return people;
}

function rdnValue(dn: string): string {
  const first = dn.split(/(?<!\\),/)[0] ?? dn;
  return first.slice(first.indexOf("=") + 1).replace(/\\(.)/g, "$1");
}

/**
 * Makes each directory user a member of the group: an existing user of the organisation with the
 * same login name (compared case-insensitively, as everywhere in the directory) is used, otherwise
 * a user with source `ldap` and the DN as external id is created. Memberships are added in one
 * batch; each creation and membership is audited by the directory services.
 *
 * @returns the ids of the members.
 */
export async function addDirectoryMembers(
  tx: Tx,
  ctx: AuditContext,
  orgId: string,
  groupId: string,
  people: DirectoryPerson[],
): Promise<string[]> {
  const ids: string[] = [];
  for (const person of people) {
    const existing = await findUserByUsername(tx, orgId, person.username);
    const user =
      existing ??
      (await createUser(tx, ctx, {
        orgId,
        username: person.username,
        email: person.email,
        displayName: person.displayName,
        source: "ldap",
        externalId: person.dn,
      }));
    ids.push(user.id);
  }
  if (ids.length > 0) await batchMembers(tx, ctx, groupId, { add: ids });
  return ids;
}
