import type { GroupRow, UserRow } from "../../storage/schema.ts";

// Ranger's user-management JSON (`VXUser`, `VXGroup`, `VXGroupUser` and their lists), as
// security-admin's XUserREST writes it and Ranger usersync and the Python client read it. Ids are
// the directory's small integers (`num`, migration 0011); Ranger enums are numbers
// (`status` 1 = enabled, `isVisible` 1 = visible, `userSource`/`groupSource` 1 = external).

/** Ranger's `VXUser`. */
export interface VXUser {
  id: number;
  createDate: string;
  updateDate: string;
  owner: string;
  updatedBy: string;
  name: string;
  firstName: string;
  lastName: string | null;
  emailAddress: string | null;
  password: string;
  description: string;
  credStoreId: null;
  status: number;
  isVisible: number;
  userSource: number;
  userRoleList: string[];
  otherAttributes: string | null;
  syncSource: string | null;
  groupIdList: number[];
  groupNameList: string[];
}

/** Ranger's `VXGroup`. */
export interface VXGroup {
  id: number;
  createDate: string;
  updateDate: string;
  owner: string;
  updatedBy: string;
  name: string;
  description: string;
  groupType: number;
  groupSource: number;
  credStoreId: null;
  isVisible: number;
  otherAttributes: string | null;
  syncSource: string | null;
}

/** Ranger's `VXGroupUser`: one direct membership; `name` is the group's name. */
export interface VXGroupUser {
  id: number;
  createDate: string;
  updateDate: string;
  name: string;
  parentGroupId: number;
  userId: number;
}

/** A user row with its effective groups (direct groups and their ancestors), by name order. */
export type UserWithGroups = UserRow & { group_names: string[]; group_nums: number[] };

/** Ranger writes dates as `yyyy-MM-dd'T'HH:mm:ss'Z'`. */
export function rangerDate(at: Date): string {
  return `${at.toISOString().slice(0, 19)}Z`;
}

/** The key of Ranger usersync's sync source inside `otherAttributes` (`UgsyncCommonConstants.SYNC_SOURCE`). */
const SYNC_SOURCE = "sync_source";

/** Where group metadata keeps Ranger's `otherAttributes` (groups have no attributes of their own). */
export const GROUP_ATTRIBUTES_KEY = "rangerAttributes";

function otherAttributesOf(attributes: Record<string, unknown> | undefined): {
  otherAttributes: string | null;
  syncSource: string | null;
} {
  if (!attributes || Object.keys(attributes).length === 0) return { otherAttributes: null, syncSource: null };
  const source = attributes[SYNC_SOURCE];
  return { otherAttributes: JSON.stringify(attributes), syncSource: typeof source === "string" ? source : null };
}

/**
 * A directory user as Ranger's `VXUser`. Gatehouse keeps one display name (`firstName`; Ranger's
 * `lastName` is not kept), no password (`*****`, as Ranger masks it) and no Ranger portal roles
 * (`ROLE_USER`); `otherAttributes` is the user's attributes, whose `sync_source` is `syncSource`.
 */
export function presentVXUser(row: UserWithGroups): VXUser {
  return {
    id: row.num,
    createDate: rangerDate(row.created_at),
    updateDate: rangerDate(row.updated_at),
    owner: "Admin",
    updatedBy: "Admin",
    name: row.username,
    firstName: row.display_name ?? row.username,
    lastName: null,
    emailAddress: row.email,
    password: "*****",
    description: row.username,
    credStoreId: null,
    status: row.status === "active" ? 1 : 0,
    isVisible: row.hidden ? 0 : 1,
    userSource: row.source === "local" ? 0 : 1,
    userRoleList: ["ROLE_USER"],
    ...otherAttributesOf(row.attributes),
    groupIdList: row.group_nums ?? [],
    groupNameList: row.group_names ?? [],
  };
}

/** A directory group as Ranger's `VXGroup`; `otherAttributes` is kept in its metadata. */
export function presentVXGroup(row: GroupRow): VXGroup {
  const attributes = row.metadata?.[GROUP_ATTRIBUTES_KEY];
  return {
    id: row.num,
    createDate: rangerDate(row.created_at),
    updateDate: rangerDate(row.updated_at),
    owner: "Admin",
    updatedBy: "Admin",
    name: row.name,
    description: row.description,
    groupType: 1,
    groupSource: row.source === "local" ? 0 : 1,
    credStoreId: null,
    isVisible: row.hidden ? 0 : 1,
    ...otherAttributesOf(
      attributes && typeof attributes === "object" ? (attributes as Record<string, unknown>) : undefined,
    ),
  };
}

/** A direct membership row joined with its group and user numbers. */
export interface GroupUserRow {
  num: number;
  group_name: string;
  group_num: number;
  user_num: number;
  created_at: Date;
}

/** A direct membership as Ranger's `VXGroupUser`. */
export function presentVXGroupUser(row: GroupUserRow): VXGroupUser {
  return {
    id: row.num,
    createDate: rangerDate(row.created_at),
    updateDate: rangerDate(row.created_at),
    name: row.group_name,
    parentGroupId: row.group_num,
    userId: row.user_num,
  };
}

/** Paging as Ranger's `SearchCriteria` took it from the query string. */
export interface RangerPage {
  startIndex: number;
  pageSize: number;
  sortBy: string;
  sortType: "asc" | "desc";
}

/** Ranger's `VList` envelope (`VXUserList`, `VXGroupList`, `VXGroupUserList`) around `items` under `key`. */
export function vList<T>(key: string, items: T[], total: number, page: RangerPage, started: number) {
  return {
    startIndex: page.startIndex,
    pageSize: page.pageSize,
    totalCount: total,
    resultSize: items.length,
    sortBy: page.sortBy,
    sortType: page.sortType,
    queryTimeMS: Date.now() - started,
    [key]: items,
  };
}
