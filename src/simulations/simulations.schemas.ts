import { Type } from "typebox";
import { PolicyInput } from "../policies/policies.schemas.ts";

const Name = Type.String({ minLength: 1, maxLength: 512 });

/** The directory part of a draft (src/simulations/principals.ts). */
export const DirectoryDraftSchema = Type.Object(
  {
    memberships: Type.Optional(
      Type.Object({
        add: Type.Optional(Type.Array(Type.Object({ user: Name, group: Name }), { maxItems: 10_000 })),
        remove: Type.Optional(Type.Array(Type.Object({ user: Name, group: Name }), { maxItems: 10_000 })),
      }),
    ),
    roleBindings: Type.Optional(
      Type.Object({
        add: Type.Optional(
          Type.Array(Type.Object({ role: Name, user: Type.Optional(Name), group: Type.Optional(Name) }), {
            maxItems: 10_000,
          }),
        ),
        remove: Type.Optional(
          Type.Array(Type.Object({ role: Name, user: Type.Optional(Name), group: Type.Optional(Name) }), {
            maxItems: 10_000,
          }),
        ),
      }),
    ),
  },
  { title: "DirectoryDraft", description: "Membership and role-binding changes, applied to principals only" },
);

/** `POST /v1/services/{service}/simulations` body. */
export const SimulationRequest = Type.Object(
  {
    policies: Type.Optional(
      Type.Object({
        create: Type.Optional(Type.Array(PolicyInput, { maxItems: 1000, description: "Policies to create" })),
        update: Type.Optional(
          Type.Array(Type.Object({ id: Type.Integer({ minimum: 1 }), policy: PolicyInput }), {
            maxItems: 1000,
            description: "Policies to replace (whole), by id",
          }),
        ),
        delete: Type.Optional(
          Type.Array(Type.Integer({ minimum: 1 }), { maxItems: 1000, description: "Ids of policies to delete" }),
        ),
      }),
    ),
    directory: Type.Optional(DirectoryDraftSchema),
    replay: Type.Optional(
      Type.Object({
        enabled: Type.Optional(Type.Boolean({ default: true, description: "false: skip the replay" })),
        days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650, default: 30, description: "Window, in days" })),
        limit: Type.Optional(
          Type.Integer({
            minimum: 1,
            maximum: 1_000_000,
            default: 100_000,
            description: "Distinct logged requests replayed by this call; more left ⇒ `truncated` and `nextCursor`",
          }),
        ),
        cursor: Type.Optional(
          Type.String({ maxLength: 4096, description: "`replay.nextCursor` of the previous call" }),
        ),
        maxChanges: Type.Optional(
          Type.Integer({ minimum: 0, maximum: 100_000, default: 1000, description: "Changed requests listed" }),
        ),
      }),
    ),
    exposure: Type.Optional(
      Type.Object({ maxResources: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 200 })) }),
    ),
    noNewAccess: Type.Optional(
      Type.Object({ maxPrincipals: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 2000 })) }),
    ),
  },
  { title: "SimulationRequest" },
);

const Resource = Type.Record(Type.String(), Type.Union([Type.String(), Type.Array(Type.String())]));

const Answer = Type.Object(
  {
    allowed: Type.Boolean(),
    policyId: Type.Integer({ description: "Deciding policy, -1 for none" }),
    maskType: Type.Optional(Type.String()),
    maskedValue: Type.Optional(Type.String()),
    maskCondition: Type.Optional(Type.String()),
    filterExpr: Type.Optional(Type.String()),
  },
  { title: "SimulationAnswer" },
);

const Result = Type.Union([Type.Literal("allowed"), Type.Literal("denied"), Type.Literal("conditional"), Type.Null()]);

const ExposureChange = Type.Object({
  name: Type.String(),
  accessType: Type.String(),
  before: Result,
  after: Result,
  policyBefore: Type.Union([Type.Integer(), Type.Null()]),
  policyAfter: Type.Union([Type.Integer(), Type.Null()]),
});

const MaskDiff = Type.Object({ before: Type.Array(Type.Unknown()), after: Type.Array(Type.Unknown()) });

/** The answer of a simulation (docs/simulation.md). */
export const SimulationReport = Type.Object(
  {
    service: Type.String(),
    policyVersion: Type.Integer({ description: "The service policy version the draft was applied to" }),
    draft: Type.Object({
      created: Type.Array(Type.Integer()),
      updated: Type.Array(Type.Integer()),
      deleted: Type.Array(Type.Integer()),
      directoryChanges: Type.Boolean(),
    }),
    replay: Type.Object({
      from: Type.String({ format: "date-time" }),
      to: Type.String({ format: "date-time" }),
      replayed: Type.Integer(),
      changed: Type.Integer(),
      newlyAllowed: Type.Integer(),
      newlyDenied: Type.Integer(),
      maskChanged: Type.Integer(),
      rowFilterChanged: Type.Integer(),
      decidingPolicyChanged: Type.Integer({ description: "Same answer, another deciding policy (not listed)" }),
      truncated: Type.Boolean({ description: "More distinct requests are left: continue with `nextCursor`" }),
      nextCursor: Type.Union([Type.String(), Type.Null()]),
      changesTruncated: Type.Boolean({ description: "More changes than listed (`changed` counts all)" }),
      cancelled: Type.Boolean({ description: "The client went away before the replay ended" }),
      changes: Type.Array(
        Type.Object({
          user: Type.String(),
          resource: Resource,
          accessType: Type.String(),
          policyType: Type.Integer(),
          direction: Type.Union([
            Type.Literal("newlyAllowed"),
            Type.Literal("newlyDenied"),
            Type.Literal("maskChanged"),
            Type.Literal("rowFilterChanged"),
          ]),
          before: Answer,
          after: Answer,
        }),
      ),
    }),
    exposure: Type.Object({
      resources: Type.Integer({ description: "Resources compared" }),
      truncated: Type.Boolean(),
      diffs: Type.Array(
        Type.Object({
          resource: Type.Record(Type.String(), Type.String()),
          users: Type.Array(ExposureChange),
          groups: Type.Array(ExposureChange),
          roles: Type.Array(ExposureChange),
          dataMasks: Type.Optional(MaskDiff),
          rowFilters: Type.Optional(MaskDiff),
        }),
      ),
    }),
    noNewAccess: Type.Object({
      noNewAccess: Type.Boolean({ description: "No checked principal gains any access" }),
      complete: Type.Boolean({ description: "false when capped: a true verdict is then no proof" }),
      checked: Type.Integer(),
      principals: Type.Integer(),
      resources: Type.Integer(),
      counterexampleCount: Type.Integer(),
      counterexamples: Type.Array(
        Type.Object({
          user: Type.String(),
          groups: Type.Array(Type.String()),
          resource: Type.Record(Type.String(), Type.String()),
          accessType: Type.String(),
          policyId: Type.Integer(),
        }),
      ),
    }),
  },
  { title: "SimulationReport" },
);
