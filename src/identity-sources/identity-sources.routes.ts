import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../audit/audit.service.ts";
import type { Actor } from "../auth/actor.ts";
import { resolveOrgId } from "../directory/org-scope.ts";
import { decodeCursor, pageOf } from "../http/cursor.ts";
import { IdParams, Page, PageQuery } from "../http/schemas.ts";
import type { Db } from "../storage/db.ts";
import { groupMembers, searchGroups, searchUsers, testSource } from "./directory-search.ts";
import {
  createIdentitySource,
  deleteIdentitySource,
  identitySourceIn,
  presentIdentitySource,
  updateIdentitySource,
} from "./identity-sources.service.ts";

const LdapSettings = {
  url: Type.String({ pattern: "^ldaps?://", description: "`ldap://host:389` or `ldaps://host:636`" }),
  bindDn: Type.String({ maxLength: 2048, description: "DN to bind as; empty for anonymous" }),
  baseDn: Type.String({ minLength: 1, maxLength: 2048 }),
  userBaseDn: Type.String({ minLength: 1, maxLength: 2048 }),
  groupBaseDn: Type.String({ minLength: 1, maxLength: 2048 }),
  userFilter: Type.String({ pattern: "^\\(.*\\)$", maxLength: 4096 }),
  groupFilter: Type.String({ pattern: "^\\(.*\\)$", maxLength: 4096 }),
  userNameAttribute: Type.String({ minLength: 1, maxLength: 128 }),
  groupNameAttribute: Type.String({ minLength: 1, maxLength: 128 }),
  groupMemberAttribute: Type.String({ minLength: 1, maxLength: 128 }),
  startTls: Type.Boolean(),
  timeoutMs: Type.Integer({ minimum: 100, maximum: 120_000 }),
  pageSize: Type.Integer({ minimum: 1, maximum: 10_000, description: "Page size of the paged results control" }),
  syncSchedule: Type.Union([Type.String({ minLength: 1, maxLength: 128 }), Type.Null()], {
    description: "`5m`, `1h`, ... or a cron expression (UTC); null = no scheduled sync",
  }),
  fullSyncEvery: Type.String({ pattern: "^\\d+(s|m|h|d)$", description: "How often a run is full (sees deletions)" }),
  entryIdAttribute: Type.String({ minLength: 1, maxLength: 128, description: "`entryUUID` or AD's `objectGUID`" }),
  userEmailAttribute: Type.String({ minLength: 1, maxLength: 128 }),
  userDisplayNameAttribute: Type.String({ minLength: 1, maxLength: 128 }),
  membership: Type.Union([Type.Literal("dn"), Type.Literal("uid"), Type.Literal("memberOf")]),
  memberOfNesting: Type.Union([Type.Literal("walk"), Type.Literal("inChain")]),
  changeAttribute: Type.String({ minLength: 1, maxLength: 128, description: "`modifyTimestamp` or `uSNChanged`" }),
};

const LdapConfigSchema = Type.Object(LdapSettings, { title: "LdapConfig" });
const LdapConfigInput = Type.Partial(Type.Object(LdapSettings), { additionalProperties: false });

const IdentitySource = Type.Object(
  {
    id: Type.String({ format: "uuid" }),
    orgId: Type.String({ format: "uuid" }),
    name: Type.String(),
    kind: Type.Literal("ldap"),
    config: Type.Partial(LdapConfigSchema),
    credential: Type.Object({
      kind: Type.Union([Type.Literal("stored"), Type.Literal("env"), Type.Literal("none")]),
      env: Type.Union([Type.String(), Type.Null()]),
    }),
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
  },
  { title: "IdentitySource" },
);

const CredentialFields = {
  bindCredential: Type.Optional(
    Type.String({ minLength: 1, maxLength: 4096, description: "Bind password; stored encrypted, never returned" }),
  ),
  bindCredentialEnv: Type.Optional(
    Type.String({ pattern: "^[A-Z_][A-Z0-9_]*$", description: "Or: environment variable holding the bind password" }),
  ),
};

const SearchQuery = Type.Intersect([
  PageQuery,
  Type.Object({ search: Type.Optional(Type.String({ maxLength: 255, description: "Name; `*` wildcards allowed" })) }),
]);

/** `/v1/identity-sources`: LDAP directories, their test, and searches of groups, users and members. */
export function identitySourceRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    const sourceIn = (actor: Actor, id: string) => identitySourceIn(db.kysely, actor, id);

    app.post(
      "/v1/identity-sources",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["identity-sources"],
          summary: "Register an identity source",
          body: Type.Object(
            {
              orgId: Type.Optional(Type.String({ format: "uuid" })),
              name: Type.String({ minLength: 1, maxLength: 128 }),
              kind: Type.Literal("ldap"),
              config: Type.Intersect([
                Type.Object({ url: LdapSettings.url, baseDn: LdapSettings.baseDn }),
                LdapConfigInput,
              ]),
              ...CredentialFields,
            },
            { additionalProperties: false },
          ),
          response: { 201: IdentitySource },
        },
      },
      async (request, reply) => {
        const orgId = await resolveOrgId(db.kysely, request.actor, request.body.orgId);
        const source = await db.transaction((tx) =>
          createIdentitySource(tx, auditContextOf(request), { ...request.body, orgId }),
        );
        return reply.code(201).header("location", `/v1/identity-sources/${source.id}`).send(source);
      },
    );

    app.get(
      "/v1/identity-sources",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["identity-sources"],
          summary: "List identity sources",
          querystring: Type.Intersect([
            PageQuery,
            Type.Object({ orgId: Type.Optional(Type.String({ format: "uuid" })) }),
          ]),
          response: { 200: Page(IdentitySource, "IdentitySourcePage") },
        },
      },
      async (request) => {
        const q = request.query;
        const orgId = await resolveOrgId(db.kysely, request.actor, q.orgId);
        const base = db.kysely.selectFrom("identity_sources").where("org_id", "=", orgId);
        const total = await base.select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
        let query = base;
        if (q.cursor) query = query.where("id", ">", decodeCursor<{ id: string }>(q.cursor, ["id"]).id);
        const rows = await query
          .selectAll()
          .orderBy("id")
          .limit(q.limit + 1)
          .execute();
        const page = pageOf(rows, q.limit, (r) => ({ id: r.id }));
        return { items: page.rows.map(presentIdentitySource), nextCursor: page.nextCursor, total: Number(total.n) };
      },
    );

    app.get(
      "/v1/identity-sources/:id",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["identity-sources"],
          summary: "Get an identity source",
          params: IdParams,
          response: { 200: IdentitySource },
        },
      },
      async (request) => presentIdentitySource(await sourceIn(request.actor, request.params.id)),
    );

    app.patch(
      "/v1/identity-sources/:id",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["identity-sources"],
          summary: "Update an identity source",
          params: IdParams,
          body: Type.Object(
            {
              name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
              config: Type.Optional(LdapConfigInput),
              ...CredentialFields,
            },
            { additionalProperties: false },
          ),
          response: { 200: IdentitySource },
        },
      },
      async (request) => {
        await sourceIn(request.actor, request.params.id);
        return db.transaction((tx) =>
          updateIdentitySource(tx, auditContextOf(request), request.params.id, request.body),
        );
      },
    );

    app.delete(
      "/v1/identity-sources/:id",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["identity-sources"],
          summary: "Delete an identity source",
          description: "Groups bound to it keep their DN and become unbound.",
          params: IdParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        await sourceIn(request.actor, request.params.id);
        await db.transaction((tx) => deleteIdentitySource(tx, auditContextOf(request), request.params.id));
        return reply.code(204).send(null);
      },
    );

    app.post(
      "/v1/identity-sources/:id/test",
      {
        config: { ability: "directory.write" },
        schema: {
          tags: ["identity-sources"],
          summary: "Test an identity source",
          description:
            "Connects (StartTLS when set), binds, reads the base DN and counts users and groups; reports every step.",
          params: IdParams,
          response: {
            200: Type.Object(
              {
                ok: Type.Boolean(),
                steps: Type.Array(Type.Object({ step: Type.String(), ok: Type.Boolean(), message: Type.String() })),
                users: Type.Union([Type.Integer(), Type.Null()]),
                groups: Type.Union([Type.Integer(), Type.Null()]),
                durationMs: Type.Integer(),
              },
              { title: "IdentitySourceTest" },
            ),
          },
        },
      },
      async (request) => testSource(db.kysely, await sourceIn(request.actor, request.params.id)),
    );

    app.get(
      "/v1/identity-sources/:id/groups",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["identity-sources"],
          summary: "Search the directory's groups",
          description: "Reads every page of the directory (paged results control), so `total` is exact; ordered by DN.",
          params: IdParams,
          querystring: SearchQuery,
          response: {
            200: Page(
              Type.Object(
                {
                  dn: Type.String(),
                  name: Type.Union([Type.String(), Type.Null()]),
                  description: Type.Union([Type.String(), Type.Null()]),
                },
                { title: "DirectoryGroup" },
              ),
              "DirectoryGroupPage",
            ),
          },
        },
      },
      async (request) => searchGroups(db.kysely, await sourceIn(request.actor, request.params.id), request.query),
    );

    app.get(
      "/v1/identity-sources/:id/users",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["identity-sources"],
          summary: "Search the directory's users",
          params: IdParams,
          querystring: SearchQuery,
          response: {
            200: Page(
              Type.Object(
                {
                  dn: Type.String(),
                  username: Type.Union([Type.String(), Type.Null()]),
                  email: Type.Union([Type.String(), Type.Null()]),
                  displayName: Type.Union([Type.String(), Type.Null()]),
                },
                { title: "DirectoryUser" },
              ),
              "DirectoryUserPage",
            ),
          },
        },
      },
      async (request) => searchUsers(db.kysely, await sourceIn(request.actor, request.params.id), request.query),
    );

    app.get(
      "/v1/identity-sources/:id/group-members",
      {
        config: { ability: "directory.read" },
        schema: {
          tags: ["identity-sources"],
          summary: "List a directory group's members",
          description:
            "Reads the member attribute completely, following Active Directory range retrieval (`member;range=0-1499`, ...). With `nested=true` member groups are expanded and only users listed.",
          params: IdParams,
          querystring: Type.Intersect([
            PageQuery,
            Type.Object({
              dn: Type.String({ minLength: 1, maxLength: 2048, description: "The group's DN" }),
              nested: Type.Boolean({ default: false }),
            }),
          ]),
          response: {
            200: Page(
              Type.Object(
                { dn: Type.String(), kind: Type.Union([Type.Literal("user"), Type.Literal("group")]) },
                { title: "DirectoryMember" },
              ),
              "DirectoryMemberPage",
            ),
          },
        },
      },
      async (request) => groupMembers(db.kysely, await sourceIn(request.actor, request.params.id), request.query),
    );
  };
}
