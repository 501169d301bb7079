import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { auditContextOf } from "../audit/audit.service.ts";
import type { Actor } from "../auth/actor.ts";
import { fail } from "../directory/fail.ts";
import { assertSameOrg, resolveOrgId } from "../directory/org-scope.ts";
import { ConnectorKindUnavailable, ReferenceNotFound, ValidationFailed } from "../errors.ts";
import { IdParams } from "../http/schemas.ts";
import { findService } from "../service-defs/service-defs.store.ts";
import type { Db, Queryable } from "../storage/db.ts";
import type { ConnectorRow, ConnectorSettings } from "./connector-model.ts";
import {
  createConnector,
  deleteConnector,
  getConnectorRow,
  listDeadLetters,
  presentConnector,
  settleDeadLetter,
  updateConnector,
} from "./connectors.service.ts";
import { targetOf } from "./registry.ts";
import { type ConnectorRuntime, connectorStatus } from "./runtime.ts";

const tags = ["connectors"];
const Kind = Type.Union([Type.Literal("keycloak"), Type.Literal("ranger")]);
const Selection = Type.Object(
  {
    mode: Type.Union([Type.Literal("all"), Type.Literal("prefix"), Type.Literal("explicit")], {
      description: "`all` groups of the organisations, those whose name starts with `prefix`, or the `groupIds` listed",
    }),
    prefix: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
    groupIds: Type.Optional(Type.Array(Type.String({ format: "uuid" }), { maxItems: 10_000 })),
  },
  { additionalProperties: false, title: "GroupSelection" },
);
/** Ranger's rule for service names (RangerServiceValidator): letters, digits, `_` and `-`. */
const RANGER_SERVICE_NAME = "^[A-Za-z0-9_-]{1,255}$";
const PolicySettings = Type.Object(
  {
    services: Type.Record(
      Type.String({ minLength: 1, maxLength: 255 }),
      Type.String({ pattern: RANGER_SERVICE_NAME, description: "The Ranger service the policies go to" }),
      {
        maxProperties: 100,
        description:
          "Gatehouse service name → Ranger service name: the Gatehouse service's policies are pushed to that Ranger service through Ranger's public v2 API",
      },
    ),
  },
  {
    additionalProperties: false,
    title: "ConnectorPolicySettings",
    description: "Ranger: the services whose policies are pushed (docs/connectors.md, Policies); none by default",
  },
);
const SettingFields = {
  baseUrl: Type.String({
    pattern: "^https?://",
    maxLength: 2048,
    description: "Keycloak's or Ranger Admin's base URL",
  }),
  realm: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: "Keycloak: the realm written to" })),
  clientId: Type.Optional(
    Type.String({ minLength: 1, maxLength: 255, description: "Keycloak: client of the client-credentials grant" }),
  ),
  username: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: "Ranger: the Ranger Admin user" })),
  selection: Type.Optional(Selection),
  carryMemberships: Type.Optional(Type.Boolean({ description: "Carry memberships (default true)" })),
  createMissingUsers: Type.Optional(
    Type.Boolean({ description: "Keycloak: create members missing from the realm (default false: reported)" }),
  ),
  maxAttempts: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: 1000,
      description: "Failed deliveries of a group before it is dead-lettered (default GATEHOUSE_CONNECTOR_MAX_ATTEMPTS)",
    }),
  ),
  retryMaxMs: Type.Optional(
    Type.Integer({
      minimum: 10,
      maximum: 3_600_000,
      description: "Longest delay between two delivery attempts (default GATEHOUSE_CONNECTOR_RETRY_MAX_MS)",
    }),
  ),
  policies: Type.Optional(PolicySettings),
};
const Settings = Type.Object(
  {
    ...SettingFields,
    selection: Selection,
    carryMemberships: Type.Boolean(),
    createMissingUsers: Type.Boolean(),
  },
  { title: "ConnectorSettings" },
);
const SecretFields = {
  clientSecret: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 4096,
      description: "Keycloak client secret; stored encrypted, never returned",
    }),
  ),
  password: Type.Optional(
    Type.String({ minLength: 1, maxLength: 4096, description: "Ranger password; stored encrypted, never returned" }),
  ),
};
const Connector = Type.Object(
  {
    id: Type.String({ format: "uuid" }),
    name: Type.String(),
    kind: Kind,
    orgIds: Type.Array(Type.String({ format: "uuid" })),
    enabled: Type.Boolean(),
    config: Settings,
    secretSet: Type.Boolean({ description: "Whether a secret is stored (it is never returned)" }),
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
  },
  { title: "Connector" },
);
const Status = Type.Object(
  {
    pending: Type.Integer({ description: "Groups and policies with undelivered changes" }),
    failing: Type.Integer({ description: "Groups and policies whose last delivery failed, waiting for a retry" }),
    deadLettered: Type.Integer({ description: "Groups and policies parked after too many failures" }),
    lagSeconds: Type.Number({ description: "Age of the oldest undelivered change (0 when none)" }),
    oldestPendingAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
    lastSuccessAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
    lastError: Type.Union([Type.String(), Type.Null()]),
    lastErrorAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
    lastReconcileAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  },
  { title: "ConnectorStatus" },
);
const Difference = Type.Object(
  {
    kind: Type.Union([
      Type.Literal("missing"),
      Type.Literal("extra"),
      Type.Literal("members"),
      Type.Literal("attributes"),
    ]),
    groupId: Type.String(),
    path: Type.Array(Type.String()),
    detail: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { title: "ReconcileDifference" },
);
const PolicyDifference = Type.Object(
  {
    kind: Type.Union([Type.Literal("missing"), Type.Literal("extra"), Type.Literal("different")]),
    policyId: Type.Optional(Type.Integer({ description: "The Gatehouse policy (absent for `extra`)" })),
    service: Type.String({ description: "The Ranger service" }),
    name: Type.String(),
    zone: Type.String({ description: "Security zone (empty: none)" }),
  },
  { title: "ReconcilePolicyDifference" },
);
const PolicyReconcileReport = Type.Object(
  {
    desired: Type.Integer({ description: "Policies Gatehouse pushes (of the mapped services)" }),
    onTarget: Type.Integer({ description: "Policies read from the mapped Ranger services" }),
    counts: Type.Object({ missing: Type.Integer(), extra: Type.Integer(), different: Type.Integer() }),
    differences: Type.Array(PolicyDifference, { description: "The first 1,000 differences (all are counted)" }),
    repaired: Type.Integer(),
  },
  { title: "ReconcilePolicyReport" },
);
const ReconcileReport = Type.Object(
  {
    dryRun: Type.Boolean(),
    desired: Type.Integer({ description: "Groups Gatehouse carries to the target" }),
    onTarget: Type.Integer({ description: "Groups read from the target" }),
    counts: Type.Object({
      missing: Type.Integer(),
      extra: Type.Integer(),
      members: Type.Integer(),
      attributes: Type.Integer(),
    }),
    differences: Type.Array(Difference, { description: "The first 1,000 differences (all are counted)" }),
    repaired: Type.Integer(),
    policies: Type.Optional(PolicyReconcileReport),
    startedAt: Type.String({ format: "date-time" }),
    finishedAt: Type.String({ format: "date-time" }),
  },
  { title: "ReconcileReport" },
);
const DeadLetter = Type.Object(
  {
    groupId: Type.String({ format: "uuid" }),
    attempts: Type.Integer(),
    lastError: Type.Union([Type.String(), Type.Null()]),
    lastStatus: Type.Union([Type.Integer(), Type.Null()]),
    deadAt: Type.String({ format: "date-time" }),
    pending: Type.Integer({ description: "Queued changes of the group" }),
  },
  { title: "DeadLetter" },
);
const DeadLetterParams = Type.Object({ id: Type.String({ format: "uuid" }), groupId: Type.String({ format: "uuid" }) });

/** Each kind's required settings and secret, checked after the schema (400 naming the field). */
function checkKind(
  kind: "keycloak" | "ranger",
  config: Partial<ConnectorSettings>,
  secretSet: boolean,
  field = "body",
) {
  const need = kind === "keycloak" ? (["realm", "clientId"] as const) : (["username"] as const);
  for (const key of need) {
    if (!config[key])
      throw fail(ValidationFailed, `${field}.config.${key}`, "required", `is required for a ${kind} connector`);
  }
  if (!secretSet) {
    const secret = kind === "keycloak" ? "clientSecret" : "password";
    throw fail(ValidationFailed, `${field}.${secret}`, "required", `is required for a ${kind} connector`);
  }
  if (config.selection?.mode === "prefix" && !config.selection.prefix) {
    throw fail(ValidationFailed, `${field}.config.selection.prefix`, "required", "is required with mode `prefix`");
  }
  if (config.selection?.mode === "explicit" && !config.selection.groupIds) {
    throw fail(ValidationFailed, `${field}.config.selection.groupIds`, "required", "is required with mode `explicit`");
  }
  if (config.policies && kind !== "ranger") {
    throw fail(ValidationFailed, `${field}.config.policies`, "rangerOnly", "is only for a ranger connector");
  }
}

/**
 * The policy mapping's Gatehouse services exist, and no Ranger service is named twice (two
 * Gatehouse services writing one Ranger service would each take the other's policies for extras).
 */
async function checkPolicyServices(db: Queryable, config: Partial<ConnectorSettings>, field = "body") {
  const seen = new Map<string, string>();
  for (const [gatehouse, ranger] of Object.entries(config.policies?.services ?? {})) {
    const at = `${field}.config.policies.services.${gatehouse}`;
    if (!(await findService(db, gatehouse))) {
      throw fail(ReferenceNotFound, at, "exists", `service \`${gatehouse}\` not found`);
    }
    const other = seen.get(ranger.toLowerCase());
    if (other !== undefined) {
      throw fail(
        ValidationFailed,
        at,
        "unique",
        `Ranger service \`${ranger}\` is already mapped from \`${other}\`: map each Ranger service once`,
      );
    }
    seen.set(ranger.toLowerCase(), gatehouse);
  }
}

/**
 * `/v1/connectors`: the outbound connectors (docs/connectors.md): CRUD, enable/disable, test,
 * status, reconcile and the dead letters. Managing them needs `directory.write` (they carry the
 * directory); reading them `directory.read`. Each write is audited in its transaction.
 */
export function connectorRoutes(db: Db, runtime: ConnectorRuntime): FastifyPluginAsyncTypebox {
  return async (app) => {
    const connectorIn = async (actor: Actor, id: string): Promise<ConnectorRow> => {
      const row = await getConnectorRow(db.kysely, id);
      for (const orgId of row.org_ids) assertSameOrg(actor, orgId);
      return row;
    };

    app.post(
      "/v1/connectors",
      {
        config: { ability: "directory.write" },
        schema: {
          tags,
          summary: "Create a connector",
          description:
            "From the commit on, every change to a group of its organisations is queued for it; groups that existed before reach the target by a reconcile.",
          body: Type.Object(
            {
              name: Type.String({ minLength: 1, maxLength: 128 }),
              kind: Kind,
              orgIds: Type.Optional(
                Type.Array(Type.String({ format: "uuid" }), {
                  minItems: 1,
                  maxItems: 100,
                  description: "Organisations carried (default: the caller's)",
                }),
              ),
              enabled: Type.Optional(Type.Boolean()),
              config: Type.Object(SettingFields, { additionalProperties: false }),
              ...SecretFields,
            },
            { additionalProperties: false },
          ),
          response: { 201: Connector },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const orgIds = body.orgIds ?? [await resolveOrgId(db.kysely, request.actor, undefined)];
        for (const orgId of orgIds) assertSameOrg(request.actor, orgId);
        checkKind(body.kind, body.config, Boolean(body.kind === "keycloak" ? body.clientSecret : body.password));
        await checkPolicyServices(db.kysely, body.config);
        const config: ConnectorSettings = {
          ...body.config,
          selection: body.config.selection ?? { mode: "all" },
          carryMemberships: body.config.carryMemberships ?? true,
          createMissingUsers: body.config.createMissingUsers ?? false,
        };
        const view = await db.transaction((tx) =>
          createConnector(tx, auditContextOf(request), {
            name: body.name,
            kind: body.kind,
            orgIds,
            enabled: body.enabled,
            config,
            secrets: { clientSecret: body.clientSecret, password: body.password },
          }),
        );
        runtime.wake();
        return reply.code(201).header("location", `/v1/connectors/${view.id}`).send(view);
      },
    );

    app.get(
      "/v1/connectors",
      {
        config: { ability: "directory.read" },
        schema: {
          tags,
          summary: "List connectors",
          response: { 200: Type.Object({ items: Type.Array(Connector) }, { title: "ConnectorList" }) },
        },
      },
      async (request) => {
        const rows = await db.kysely
          .selectFrom("connectors" as never)
          .selectAll()
          .orderBy("name" as never)
          .execute();
        const mine = (rows as unknown as ConnectorRow[]).filter(
          (r) => !request.actor.orgId || r.org_ids.every((o) => o === request.actor.orgId),
        );
        return { items: mine.map(presentConnector) };
      },
    );

    app.get(
      "/v1/connectors/:id",
      {
        config: { ability: "directory.read" },
        schema: { tags, summary: "Get a connector", params: IdParams, response: { 200: Connector } },
      },
      async (request) => presentConnector(await connectorIn(request.actor, request.params.id)),
    );

    app.patch(
      "/v1/connectors/:id",
      {
        config: { ability: "directory.write" },
        schema: {
          tags,
          summary: "Update a connector",
          description:
            "Settings given replace those stored (the rest is kept); a secret given replaces the stored one.",
          params: IdParams,
          body: Type.Object(
            {
              name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
              orgIds: Type.Optional(Type.Array(Type.String({ format: "uuid" }), { minItems: 1, maxItems: 100 })),
              enabled: Type.Optional(Type.Boolean()),
              config: Type.Optional(Type.Partial(Type.Object(SettingFields), { additionalProperties: false })),
              ...SecretFields,
            },
            { additionalProperties: false },
          ),
          response: { 200: Connector },
        },
      },
      async (request) => {
        const current = await connectorIn(request.actor, request.params.id);
        const body = request.body;
        for (const orgId of body.orgIds ?? []) assertSameOrg(request.actor, orgId);
        const merged = { ...current.config, ...(body.config ?? {}) };
        checkKind(
          current.kind,
          merged,
          current.secret_ciphertext !== null || Boolean(body.clientSecret ?? body.password),
        );
        if (body.config?.policies) await checkPolicyServices(db.kysely, body.config);
        const view = await db.transaction((tx) =>
          updateConnector(tx, auditContextOf(request), current.id, {
            name: body.name,
            orgIds: body.orgIds,
            enabled: body.enabled,
            config: body.config as Partial<ConnectorSettings> | undefined,
            secrets: { clientSecret: body.clientSecret, password: body.password },
          }),
        );
        runtime.wake();
        return view;
      },
    );

    app.delete(
      "/v1/connectors/:id",
      {
        config: { ability: "directory.write" },
        schema: {
          tags,
          summary: "Delete a connector",
          description: "Its queue and delivery state go with it; what it delivered stays on the target.",
          params: IdParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        const row = await connectorIn(request.actor, request.params.id);
        await db.transaction((tx) => deleteConnector(tx, auditContextOf(request), row.id));
        return reply.code(204).send(null);
      },
    );

    for (const action of ["enable", "disable"] as const) {
      app.post(
        `/v1/connectors/:id/${action}`,
        {
          config: { ability: "directory.write" },
          schema: {
            tags,
            summary: `${action === "enable" ? "Enable" : "Disable"} a connector`,
            description:
              action === "enable"
                ? "Delivery resumes with the changes queued meanwhile."
                : "Delivery stops; changes keep being queued and are delivered once it is enabled again.",
            params: IdParams,
            response: { 200: Connector },
          },
        },
        async (request) => {
          const row = await connectorIn(request.actor, request.params.id);
          const view = await db.transaction((tx) =>
            updateConnector(tx, auditContextOf(request), row.id, { enabled: action === "enable" }),
          );
          runtime.wake();
          return view;
        },
      );
    }

    app.post(
      "/v1/connectors/:id/test",
      {
        config: { ability: "directory.write" },
        schema: {
          tags,
          summary: "Test a connector: reach the target with its credentials",
          params: IdParams,
          response: { 200: Type.Object({ ok: Type.Boolean(), detail: Type.String() }, { title: "ConnectorTest" }) },
        },
      },
      async (request) => {
        const row = await connectorIn(request.actor, request.params.id);
        const target = await targetOf(db.kysely, row);
        if (!target) throw ConnectorKindUnavailable(`connectors of kind \`${row.kind}\` have no target in this build`);
        return target.check();
      },
    );

    app.get(
      "/v1/connectors/:id/status",
      {
        config: { ability: "directory.read" },
        schema: { tags, summary: "Delivery status of a connector", params: IdParams, response: { 200: Status } },
      },
      async (request) => {
        const row = await connectorIn(request.actor, request.params.id);
        return connectorStatus(db, row.id);
      },
    );

    app.post(
      "/v1/connectors/:id/reconcile",
      {
        config: { ability: "directory.write" },
        schema: {
          tags,
          summary: "Compare the target with Gatehouse and repair the differences",
          description:
            "Reads the target page by page and reports each difference: `missing`, `extra` (a target group carrying a Gatehouse id that Gatehouse does not carry), different `members`, different `attributes`; for a ranger connector that maps services, `policies` lists `missing`, `extra` (carrying the `gatehouse` label) and `different` policies. With `dryRun=true` nothing is changed; without, each difference is repaired.",
          params: IdParams,
          querystring: Type.Object({ dryRun: Type.Optional(Type.Boolean({ default: false })) }),
          response: { 200: ReconcileReport },
        },
      },
      async (request) => {
        const row = await connectorIn(request.actor, request.params.id);
        const report = await runtime.reconcile(row, request.query.dryRun ?? false);
        if (!report) throw ConnectorKindUnavailable(`connectors of kind \`${row.kind}\` have no target in this build`);
        return report;
      },
    );

    app.get(
      "/v1/connectors/:id/dead-letters",
      {
        config: { ability: "directory.read" },
        schema: {
          tags,
          summary: "Deliveries parked after too many failures",
          params: IdParams,
          response: { 200: Type.Object({ items: Type.Array(DeadLetter) }, { title: "DeadLetterList" }) },
        },
      },
      async (request) => {
        const row = await connectorIn(request.actor, request.params.id);
        return { items: await listDeadLetters(db.kysely, row.id) };
      },
    );

    app.post(
      "/v1/connectors/:id/dead-letters/:groupId/retry",
      {
        config: { ability: "directory.write" },
        schema: {
          tags,
          summary: "Retry a dead-lettered delivery",
          params: DeadLetterParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        const row = await connectorIn(request.actor, request.params.id);
        await db.transaction((tx) =>
          settleDeadLetter(tx, auditContextOf(request), row.id, request.params.groupId, "retry"),
        );
        runtime.wake();
        return reply.code(204).send(null);
      },
    );

    app.delete(
      "/v1/connectors/:id/dead-letters/:groupId",
      {
        config: { ability: "directory.write" },
        schema: {
          tags,
          summary: "Drop a dead-lettered delivery",
          description: "Its queued changes are removed; the target keeps what it has until the next reconcile.",
          params: DeadLetterParams,
          response: { 204: Type.Null() },
        },
      },
      async (request, reply) => {
        const row = await connectorIn(request.actor, request.params.id);
        await db.transaction((tx) =>
          settleDeadLetter(tx, auditContextOf(request), row.id, request.params.groupId, "drop"),
        );
        return reply.code(204).send(null);
      },
    );
  };
}
