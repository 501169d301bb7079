import { fail } from "../directory/fail.ts";
import { DirectoryGroupNotFound } from "../errors.ts";
import { decodeCursor, encodeCursor } from "../http/cursor.ts";
import type { Queryable } from "../storage/db.ts";
import type { IdentitySourceRow } from "../storage/schema.ts";
import { directoryUnavailable } from "./directory-check.ts";
import { credentialOf, presentIdentitySource } from "./identity-sources.service.ts";
import {
  DnNotFound,
  firstValue,
  type LdapEntry,
  ldapFailure,
  readAllValues,
  readEntry,
  searchAll,
  withLdap,
} from "./ldap.client.ts";
import { escapeFilterKeepingWildcards } from "./ldap-config.ts";

/** A group found in an external directory. */
export interface DirectoryGroup {
  dn: string;
  name: string | null;
  description: string | null;
}

/** A user found in an external directory. */
export interface DirectoryUser {
  dn: string;
  username: string | null;
  email: string | null;
  displayName: string | null;
}

/** One member DN of a directory group and whether it is itself a group. */
export interface DirectoryMember {
  dn: string;
  kind: "user" | "group";
}

/** A page of directory results; the directory was read completely, so `total` is exact. */
export interface DirectoryPage<T> {
  items: T[];
  nextCursor: string | null;
  total: number;
}

/** What `POST /identity-sources/{id}/test` reports. */
export interface SourceTestResult {
  ok: boolean;
  /** Each step in order: connect (and StartTLS), bind, read the base DN, count users and groups. */
  steps: { step: string; ok: boolean; message: string }[];
  users: number | null;
  groups: number | null;
  durationMs: number;
}

async function run<T>(db: Queryable, row: IdentitySourceRow, fn: Parameters<typeof withLdap<T>>[2]): Promise<T> {
  const source = presentIdentitySource(row);
  try {
    return await withLdap(source.config, await credentialOf(db, row), fn);
  } catch (err) {
    if (err instanceof DnNotFound) throw err;
    throw directoryUnavailable(source.name, err);
  }
}

/** Sorts by DN and cuts one page with a keyset cursor on the DN. */
function pageByDn<T extends { dn: string }>(items: T[], limit: number, cursor: string | undefined): DirectoryPage<T> {
  const sorted = items.sort((a, b) =>
    a.dn.toLowerCase() < b.dn.toLowerCase() ? -1 : a.dn.toLowerCase() > b.dn.toLowerCase() ? 1 : 0,
  );
  const afterDn = cursor ? decodeCursor<{ dn: string }>(cursor, ["dn"]).dn : null;
  const start = afterDn === null ? 0 : sorted.findIndex((item) => item.dn.toLowerCase() > afterDn);
  const from = start < 0 ? sorted.length : start;
  const page = sorted.slice(from, from + limit);
  const last = page[page.length - 1];
  return {
    items: page,
    nextCursor: from + limit < sorted.length && last ? encodeCursor({ dn: last.dn.toLowerCase() }) : null,
    total: sorted.length,
  };
}

/**
 * Checks an identity source step by step and reports each step instead of failing at the first,
 * so an operator sees whether the address, the TLS upgrade, the bind or the base DN is wrong.
 */
export async function testSource(db: Queryable, row: IdentitySourceRow): Promise<SourceTestResult> {
  const source = presentIdentitySource(row);
  const started = performance.now();
  const steps: SourceTestResult["steps"] = [];
  let users: number | null = null;
  let groups: number | null = null;
  try {
    await withLdap(source.config, await credentialOf(db, row), async (client) => {
      steps.push({
        step: "bind",
        ok: true,
        message: source.config.bindDn ? `bound as ${source.config.bindDn}` : "anonymous",
      });
      try {
        await readEntry(client, source.config.baseDn, "(objectClass=*)", ["dn"]);
        steps.push({ step: "baseDn", ok: true, message: `${source.config.baseDn} exists` });
      } catch (err) {
        steps.push({
          step: "baseDn",
          ok: false,
          message: `${source.config.baseDn}: ${(err as Error).message || "not found"}`,
        });
        return;
      }
      const options = { scope: "sub" as const, attributes: ["dn"], pageSize: source.config.pageSize };
      users = (
        await searchAll(client, source.config.userBaseDn ?? source.config.baseDn, {
          ...options,
          filter: source.config.userFilter,
        })
      ).length;
      groups = (
        await searchAll(client, source.config.groupBaseDn ?? source.config.baseDn, {
          ...options,
          filter: source.config.groupFilter,
        })
      ).length;
      steps.push({ step: "search", ok: true, message: `${users} users and ${groups} groups match the filters` });
    });
  } catch (err) {
    steps.push({ step: steps.length === 0 ? "connect/bind" : "search", ok: false, message: ldapFailure(err) });
  }
  return { ok: steps.every((s) => s.ok), steps, users, groups, durationMs: Math.round(performance.now() - started) };
}

/** Searches the directory's groups by name; `*` wildcards allowed, every match counted. */
export async function searchGroups(
  db: Queryable,
  row: IdentitySourceRow,
  options: { search?: string | undefined; limit: number; cursor?: string | undefined },
): Promise<DirectoryPage<DirectoryGroup>> {
  const config = presentIdentitySource(row).config;
  const term = escapeFilterKeepingWildcards(options.search || "*");
  const filter = `(&${config.groupFilter}(${config.groupNameAttribute}=${term}))`;
  const entries = await run(db, row, (client) =>
    searchAll(client, config.groupBaseDn ?? config.baseDn, {
      filter,
      scope: "sub",
      attributes: [config.groupNameAttribute, "description"],
      pageSize: config.pageSize,
    }),
  );
  const items = entries.map((e) => ({
    dn: e.dn,
    name: firstValue(e, config.groupNameAttribute),
    description: firstValue(e, "description"),
  }));
  return pageByDn(items, options.limit, options.cursor);
}

/** Searches the directory's users by login name, mail or display name; `*` wildcards allowed. */
export async function searchUsers(
  db: Queryable,
  row: IdentitySourceRow,
  options: { search?: string | undefined; limit: number; cursor?: string | undefined },
): Promise<DirectoryPage<DirectoryUser>> {
  const config = presentIdentitySource(row).config;
  const term = escapeFilterKeepingWildcards(options.search || "*");
  const filter = `(&${config.userFilter}(|(${config.userNameAttribute}=${term})(mail=${term})(cn=${term})))`;
  const entries = await run(db, row, (client) =>
    searchAll(client, config.userBaseDn ?? config.baseDn, {
      filter,
      scope: "sub",
      attributes: [config.userNameAttribute, "mail", "cn", "displayName"],
      pageSize: config.pageSize,
    }),
  );
  const items = entries.map((e) => ({
    dn: e.dn,
    username: firstValue(e, config.userNameAttribute),
    email: firstValue(e, "mail"),
    displayName: firstValue(e, "displayName") ?? firstValue(e, "cn"),
  }));
  return pageByDn(items, options.limit, options.cursor);
}

/**
 * Lists the members of a directory group, reading the member attribute completely (AD range
 * retrieval). With `nested`, member groups are expanded recursively (each group once) and only
 * users are listed.
 *
 * @throws DIRECTORY_GROUP_NOT_FOUND (422) naming the DN.
 */
export async function groupMembers(
  db: Queryable,
  row: IdentitySourceRow,
  options: { dn: string; nested: boolean; limit: number; cursor?: string | undefined },
): Promise<DirectoryPage<DirectoryMember>> {
  const source = presentIdentitySource(row);
  const config = source.config;
  try {
    const members = await run(db, row, async (client) => {
      const membersOf = (dn: string) =>
        readAllValues(
          (attribute) => readEntry(client, dn, config.groupFilter, [attribute]),
          config.groupMemberAttribute,
        );
      const direct = await membersOf(options.dn);
      const groupDns = await directoryGroupDns(client, config);
      if (!options.nested) {
        return direct.map((dn) => ({
          dn,
          kind: groupDns.has(dn.toLowerCase()) ? ("group" as const) : ("user" as const),
        }));
      }
      const users = new Map<string, DirectoryMember>();
      const seen = new Set<string>([options.dn.toLowerCase()]);
      const queue = [...direct];
      while (queue.length > 0) {
        const dn = queue.shift() as string;
        const key = dn.toLowerCase();
        if (groupDns.has(key)) {
          if (seen.has(key)) continue;
          seen.add(key);
          queue.push(...(await membersOf(dn)));
        } else if (!users.has(key)) {
          users.set(key, { dn, kind: "user" });
        }
      }
      return [...users.values()];
    });
    return pageByDn(members, options.limit, options.cursor);
  } catch (err) {
    if (err instanceof DnNotFound) {
      throw fail(
        DirectoryGroupNotFound,
        "query.dn",
        "directoryGroupExists",
        `group \`${options.dn}\` not found in identity source \`${source.name}\``,
        {
          dn: options.dn,
        },
      );
    }
    throw err;
  }
}

/** The DNs (lower case) of every group under the group base, to tell member groups from users in one search. */
async function directoryGroupDns(
  client: Parameters<typeof searchAll>[0],
  config: ReturnType<typeof presentIdentitySource>["config"],
) {
  const entries: LdapEntry[] = await searchAll(client, config.groupBaseDn ?? config.baseDn, {
    filter: config.groupFilter,
    scope: "sub",
    attributes: ["dn"],
    pageSize: config.pageSize,
  });
  return new Set(entries.map((e) => e.dn.toLowerCase()));
}
