// A stand-in for Ranger usersync's PolicyMgrUserGroupBuilder (ugsync/.../process/
// PolicyMgrUserGroupBuilder.java), speaking to Gatehouse exactly as it speaks to Ranger admin:
// it reads Ranger's users, groups and group → users map (`GET /service/xusers/users/`,
// `groups/` paged with `pageSize`/`startIndex` until `totalCount`, `GET ugsync/groupusers`),
// computes its deltas against the source, then pushes groups, users and memberships in batches of
// `maxrecordsperapicall` (`POST ugsync/groups/`, `ugsync/users`, `ugsync/groupusers`), hides
// entries gone from the source (`ugsync/users/visibility`, `ugsync/groups/visibility`) and reports
// the cycle (`ugsync/auditinfo/`). Every answer of a push must parse as an integer, as usersync's.
// Used by the usersync test (src/ranger/usersync/ugsync.test.ts) and `npm run bench:usersync`.

/** What the sync source (an LDAP directory, Unix files) holds: names, and members by group. */
export interface SyncSource {
  users: string[];
  groups: string[];
  members: Map<string, Set<string>>;
}

/** How usersync reaches Ranger admin: one HTTP call, answered with a status and a parsed body. */
export type Send = (method: "GET" | "POST", url: string, body?: unknown) => Promise<{ status: number; body: unknown }>;

/** What one cycle sent, for assertions and the benchmark's report. */
export interface CycleReport {
  newGroups: number;
  newUsers: number;
  changedMemberships: number;
  hiddenUsers: number;
  hiddenGroups: number;
  requests: number;
  /** The integers the pushes answered, by endpoint. */
  answers: Record<string, number[]>;
}

interface Entry {
  name: string;
  otherAttributes?: string | null;
  syncSource?: string | null;
  isVisible?: number;
}

const BASE = "/service/xusers";

/** Usersync's `otherAttributes` of an entry synced from LDAP (keys as the server's jsonb orders them). */
export function ldapAttributes(name: string, kind: "user" | "group", syncSource: string): string {
  const dn = kind === "user" ? `uid=${name},ou=people,dc=example,dc=com` : `cn=${name},ou=groups,dc=example,dc=com`;
  return JSON.stringify({ full_name: dn, sync_source: syncSource, original_name: name });
}

async function ok(send: Send, report: CycleReport, method: "GET" | "POST", url: string, body?: unknown) {
  report.requests++;
  const res = await send(method, url, body);
  if (res.status !== 200) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/**
 * Reads a paged list as usersync's buildUserList/buildGroupList do: `startIndex` advances by what
 * each page returned (not by distinct names), so a list that shrinks or shifts under concurrent
 * writes still ends; an entry moved across a page boundary may be missed or seen twice, as in
 * usersync, and the next cycle repairs it.
 */
async function readAll(send: Send, report: CycleReport, url: string, key: string, pageSize: number) {
  const cache = new Map<string, Entry>();
  let total = 100;
  let retrieved = 0;
  while (retrieved < total) {
    const page = (await ok(send, report, "GET", `${url}?pageSize=${pageSize}&startIndex=${retrieved}`)) as Record<
      string,
      unknown
    >;
    total = page.totalCount as number;
    const list = (page[key] ?? []) as Entry[];
    if (list.length === 0) break;
    retrieved += list.length;
    for (const entry of list) cache.set(entry.name, entry);
  }
  return cache;
}

async function push(
  send: Send,
  report: CycleReport,
  url: string,
  items: unknown[],
  batch: number,
  wrap: (slice: unknown[]) => unknown,
) {
  for (let at = 0; at < items.length; at += batch) {
    const answer = await ok(send, report, "POST", url, wrap(items.slice(at, at + batch)));
    const parsed = Number.parseInt(String(answer), 10);
    if (!Number.isInteger(parsed)) throw new Error(`${url} answered ${JSON.stringify(answer)}, not an integer`);
    report.answers[url] ??= [];
    report.answers[url].push(parsed);
  }
}

/**
 * Runs one usersync cycle of `source` against Ranger admin (Gatehouse) through `send`, with
 * usersync's batch size (`ranger.usersync.policymgr.maxrecordsperapicall`, 1,000 by default).
 * Entries of `syncSource` that the source no longer has are hidden, as usersync's deletion
 * handling does; memberships are recomputed for the source's groups only.
 */
export async function runUsersyncCycle(
  send: Send,
  source: SyncSource,
  options: { batch?: number; syncSource?: string } = {},
): Promise<CycleReport> {
  const batch = options.batch ?? 1000;
  const syncSource = options.syncSource ?? "LDAP";
  const report: CycleReport = {
    newGroups: 0,
    newUsers: 0,
    changedMemberships: 0,
    hiddenUsers: 0,
    hiddenGroups: 0,
    requests: 0,
    answers: {},
  };
  const groupCache = await readAll(send, report, `${BASE}/groups/`, "vXGroups", batch);
  const userCache = await readAll(send, report, `${BASE}/users/`, "vXUsers", batch);
  const groupUsers = (await ok(send, report, "GET", `${BASE}/ugsync/groupusers`)) as Record<string, string[]>;

  const deltaGroups = source.groups.flatMap((name) => {
    const otherAttributes = ldapAttributes(name, "group", syncSource);
    const cached = groupCache.get(name);
    if (cached && cached.otherAttributes?.toLowerCase() === otherAttributes.toLowerCase()) return [];
    if (!cached) report.newGroups++;
    return [
      {
        name,
        description: `${name} - add from Unix box`,
        groupType: "1",
        isVisible: "1",
        groupSource: "1",
        otherAttributes,
        syncSource,
      },
    ];
  });
  await push(send, report, `${BASE}/ugsync/groups/`, deltaGroups, batch, (slice) => ({
    vXGroups: slice,
    totalCount: batch,
  }));

  const deltaUsers = source.users.flatMap((name) => {
    const otherAttributes = ldapAttributes(name, "user", syncSource);
    const cached = userCache.get(name);
    if (cached && cached.otherAttributes?.toLowerCase() === otherAttributes.toLowerCase()) return [];
    if (!cached) report.newUsers++;
    return [
      {
        name,
        firstName: name,
        description: `${name} - add from Unix box`,
        userSource: "1",
        status: "1",
        isVisible: "1",
        userRoleList: ["ROLE_USER"],
        groupNameList: [],
        otherAttributes,
        syncSource,
      },
    ];
  });
  await push(send, report, `${BASE}/ugsync/users`, deltaUsers, batch, (slice) => ({
    vXUsers: slice,
    totalCount: batch,
  }));

  const deltaMemberships = source.groups.flatMap((group) => {
    const wanted = source.members.get(group) ?? new Set<string>();
    const old = new Set(groupUsers[group] ?? []);
    const addUsers = [...wanted].filter((u) => !old.has(u));
    const delUsers = [...old].filter((u) => !wanted.has(u));
    report.changedMemberships += addUsers.length + delUsers.length;
    if (addUsers.length === 0 && delUsers.length === 0) return [];
    return [{ groupName: group, ...(addUsers.length ? { addUsers } : {}), ...(delUsers.length ? { delUsers } : {}) }];
  });
  await push(send, report, `${BASE}/ugsync/groupusers`, deltaMemberships, batch, (slice) => slice);

  const inSource = (names: string[]) => new Set(names);
  const users = inSource(source.users);
  const goneUsers = [...userCache.values()]
    .filter((u) => u.syncSource === syncSource && u.isVisible !== 0 && !users.has(u.name))
    .map((u) => u.name);
  const groups = inSource(source.groups);
  const goneGroups = [...groupCache.values()]
    .filter((g) => g.syncSource === syncSource && g.isVisible !== 0 && !groups.has(g.name))
    .map((g) => g.name);
  report.hiddenUsers = goneUsers.length;
  report.hiddenGroups = goneGroups.length;
  if (goneUsers.length) await push(send, report, `${BASE}/ugsync/users/visibility`, [goneUsers], 1, (s) => s[0]);
  if (goneGroups.length) await push(send, report, `${BASE}/ugsync/groups/visibility`, [goneGroups], 1, (s) => s[0]);

  await ok(send, report, "POST", `${BASE}/ugsync/auditinfo/`, {
    userName: "rangerusersync",
    numberOfNewUsers: report.newUsers,
    numberOfNewGroups: report.newGroups,
    numberOfModifiedUsers: deltaUsers.length - report.newUsers,
    numberOfModifiedGroups: deltaGroups.length - report.newGroups,
    syncSource,
    ldapSyncSourceInfo: { totalUsersSynced: source.users.length, totalGroupsSynced: source.groups.length },
  });
  return report;
}

/**
 * A source of `users` users and `groups` groups named `<prefix>-u<i>`/`<prefix>-g<i>`, with
 * `memberships` memberships spread over the groups (deterministic: user i·k mod users).
 */
export function syntheticSource(prefix: string, users: number, groups: number, memberships: number): SyncSource {
  const userNames = Array.from({ length: users }, (_, i) => `${prefix}-u${i}`);
  const groupNames = Array.from({ length: groups }, (_, i) => `${prefix}-g${i}`);
  const members = new Map<string, Set<string>>(groupNames.map((g) => [g, new Set<string>()]));
  let placed = 0;
  for (let step = 0; placed < memberships && step < memberships * 4; step++) {
    const group = groupNames[step % groups] as string;
    const user = userNames[(step * 7919 + Math.floor(step / groups)) % users] as string;
    const set = members.get(group) as Set<string>;
    if (!set.has(user)) {
      set.add(user);
      placed++;
    }
  }
  return { users: userNames, groups: groupNames, members };
}
