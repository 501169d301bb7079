import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../../audit/audit.service.ts";
import type { Db } from "../../storage/db.ts";
import {
  type GroupUserInfo,
  hideByName,
  recordSyncCycle,
  syncGroups,
  syncGroupUsers,
  syncUsers,
} from "./ugsync.service.ts";
import { Answer, groupInput, orgOf, read, tags, userInput, write, XUSERS } from "./xusers.http.ts";
import { allGroupUsers } from "./xusers.store.ts";

/** Most entries of one usersync batch (usersync sends `maxrecordsperapicall`, 1,000 by default). */
export const UGSYNC_BATCH_MAX = 10_000;

/** Usersync's batches carry long DNs in `otherAttributes`: more than the default body limit. */
const UGSYNC_BODY_LIMIT = 32 * 1024 * 1024;

const Entries = (title: string) =>
  Type.Array(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]), {
    maxItems: UGSYNC_BATCH_MAX,
    description: `Ranger's \`${title}\` entries`,
  });
const UserList = Type.Object(
  { vXUsers: Type.Optional(Entries("VXUser")) },
  { title: "VXUserList", additionalProperties: true },
);
const GroupList = Type.Object(
  { vXGroups: Type.Optional(Entries("VXGroup")) },
  { title: "VXGroupList", additionalProperties: true },
);
const GroupUserInfos = Type.Array(
  Type.Union([
    Type.Object(
      {
        groupName: Type.Optional(Type.Union([Type.String(), Type.Null()])),
        addUsers: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()])),
        delUsers: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()])),
      },
      { additionalProperties: true },
    ),
    Type.Null(),
  ]),
  { maxItems: UGSYNC_BATCH_MAX, title: "GroupUserInfoList" },
);
const Names = Type.Array(Type.String(), { maxItems: UGSYNC_BATCH_MAX * 10, description: "User or group names" });
const Count = Type.Integer({ description: "What Ranger answers: a count usersync parses as an integer" });

/** Registers `url` and `url/`: usersync calls some of these paths with a trailing slash. */
const both = (url: string) => [url, `${url}/`];

/**
 * Ranger usersync's endpoints (`/service/xusers/ugsync/...`): the bulk pushes of users, groups and
 * memberships (`addUsers`/`delUsers`), the visibility updates for entries deleted from the sync
 * source, the cycle report, and the group → users map usersync computes its deltas against.
 * Each batch is one transaction of the directory's own audited writes.
 */
export function ugsyncRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    const bulk = { config: write, bodyLimit: UGSYNC_BODY_LIMIT } as const;

    for (const url of both(`${XUSERS}/ugsync/users`)) {
      app.post(
        url,
        {
          ...bulk,
          schema: {
            tags,
            summary: "Create or update users by name (Ranger usersync)",
            description:
              "Skips, silently and uncounted, entries without a valid name or first name. Answers the number written.",
            body: UserList,
            response: { 200: Count },
          },
        },
        async (request) => {
          const orgId = await orgOf(db.kysely, request);
          const ctx = auditContextOf(request);
          const users = (request.body.vXUsers ?? []).map((u) => (u === null ? null : userInput(u)));
          return db.transaction((tx) => syncUsers(tx, ctx, orgId, users));
        },
      );
    }

    for (const url of both(`${XUSERS}/ugsync/groups`)) {
      app.post(
        url,
        {
          ...bulk,
          schema: {
            tags,
            summary: "Create or update groups by name (Ranger usersync)",
            description:
              "Skips, silently, entries without a valid name, and counts them: answers the size of the list, as Ranger.",
            body: GroupList,
            response: { 200: Count },
          },
        },
        async (request) => {
          const orgId = await orgOf(db.kysely, request);
          const ctx = auditContextOf(request);
          const groups = (request.body.vXGroups ?? []).map((g) => (g === null ? null : groupInput(g)));
          return db.transaction((tx) => syncGroups(tx, ctx, orgId, groups));
        },
      );
    }

    for (const url of both(`${XUSERS}/ugsync/groupusers`)) {
      app.post(
        url,
        {
          ...bulk,
          schema: {
            tags,
            summary: "Add and remove group members by name (Ranger usersync)",
            description:
              "Skips unknown groups and entries with neither list (uncounted) and unknown usernames. Answers the number of groups updated.",
            body: GroupUserInfos,
            response: { 200: Count },
          },
        },
        async (request) => {
          const orgId = await orgOf(db.kysely, request);
          const ctx = auditContextOf(request);
          return db.transaction((tx) => syncGroupUsers(tx, ctx, orgId, request.body as (GroupUserInfo | null)[]));
        },
      );
      app.get(
        url,
        {
          config: read,
          schema: {
            tags,
            summary: "Every group's members by name (Ranger usersync)",
            description: "Groups with members only; a Gatehouse group lists its effective members.",
            response: { 200: Answer("Map<String, Set<String>>") },
          },
        },
        async (request) => allGroupUsers(db.kysely, await orgOf(db.kysely, request)),
      );
    }

    for (const kind of ["user", "group"] as const) {
      for (const url of both(`${XUSERS}/ugsync/${kind}s/visibility`)) {
        app.post(
          url,
          {
            ...bulk,
            schema: {
              tags,
              summary: `Hide ${kind}s deleted from the sync source (Ranger usersync)`,
              description: `Sets \`isVisible\` 0 on each ${kind} named; unknown names are skipped. Answers the number of names sent.`,
              body: Names,
              response: { 200: Count },
            },
          },
          async (request) => {
            const orgId = await orgOf(db.kysely, request);
            const ctx = auditContextOf(request);
            return db.transaction((tx) => hideByName(tx, ctx, orgId, kind, request.body));
          },
        );
      }
    }

    for (const url of both(`${XUSERS}/ugsync/auditinfo`)) {
      app.post(
        url,
        {
          config: write,
          schema: {
            tags,
            summary: "Record a usersync cycle's report (Ranger VXUgsyncAuditInfo)",
            description: "Kept as the audit event `ranger.usersync.cycle`; answered back as sent.",
            body: Type.Object({}, { title: "VXUgsyncAuditInfo", additionalProperties: true }),
            response: { 200: Answer("VXUgsyncAuditInfo") },
          },
        },
        async (request) => {
          const orgId = await orgOf(db.kysely, request);
          const ctx = auditContextOf(request);
          const info = request.body as Record<string, unknown>;
          await db.transaction((tx) => recordSyncCycle(tx, ctx, orgId, info));
          return info;
        },
      );
    }
  };
}
