/**
 * The error catalogue: every code the native API can return, with its HTTP status.
 * Codes are stable: never renumber or reuse one; retired codes move to `RETIRED_CODES`.
 * Messages are lowercase, carry user input in backticks and name the field and the rule.
 * Routes that reproduce another product's API (Nx1, Frontier, ...) map these to that product's shape.
 */

/** One field-level problem, so a client can point at the exact input that failed. */
export interface ErrorDetail {
  /** Where the problem is, as `body.name`, `query.limit`, `body.metadata.labels.team`. */
  field: string;
  /** The rule that failed: a JSON-Schema keyword (`maxLength`) or a named rule (`unique`). */
  rule: string;
  /** A human sentence naming the field and the rule. */
  message: string;
}

/** An error the API reports on purpose: status below 500 is shown to the client as is. */
export class AppError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: ErrorDetail[];
  /** Extra machine-readable facts (e.g. the id of the existing group in a conflict). */
  readonly meta: Record<string, unknown> | undefined;
  /** Extra response headers (e.g. `Retry-After`, `WWW-Authenticate`). */
  readonly headers: Record<string, string> | undefined;

  constructor(
    code: string,
    status: number,
    message: string,
    opts: {
      details?: ErrorDetail[];
      meta?: Record<string, unknown>;
      headers?: Record<string, string>;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = "AppError";
    this.code = code;
    this.status = status;
    this.details = opts.details ?? [];
    this.meta = opts.meta;
    this.headers = opts.headers;
  }
}

interface ErrorOptions {
  details?: ErrorDetail[];
  meta?: Record<string, unknown>;
  headers?: Record<string, string>;
  cause?: unknown;
}

/** A catalogue entry: call it with the message arguments to get a throwable `AppError`. */
export interface ErrorFactory {
  (message?: string, opts?: ErrorOptions): AppError;
  readonly code: string;
  readonly status: number;
  readonly description: string;
}

const catalogue = new Map<string, ErrorFactory>();

function defineError(code: string, status: number, description: string): ErrorFactory {
  if (catalogue.has(code)) throw new Error(`duplicate error code ${code}`);
  const factory = ((message?: string, opts: ErrorOptions = {}) =>
    new AppError(code, status, message ?? description, opts)) as ErrorFactory;
  Object.defineProperties(factory, {
    code: { value: code },
    status: { value: status },
    description: { value: description },
  });
  catalogue.set(code, factory);
  return factory;
}

// ── request shape ──────────────────────────────────────────────────────────
export const ValidationFailed = defineError("VALIDATION_FAILED", 400, "the request is invalid");
export const MalformedJson = defineError("MALFORMED_JSON", 400, "the request body is not valid json");
export const UnsupportedMediaType = defineError("UNSUPPORTED_MEDIA_TYPE", 415, "the content type is not supported");
export const PayloadTooLarge = defineError("PAYLOAD_TOO_LARGE", 413, "the request body is larger than allowed");
export const RouteNotFound = defineError("ROUTE_NOT_FOUND", 404, "no such route");
export const MethodNotAllowed = defineError("METHOD_NOT_ALLOWED", 405, "method not allowed");
export const InvalidCursor = defineError("INVALID_CURSOR", 400, "the cursor is invalid or expired");
export const IdempotencyKeyReused = defineError(
  "IDEMPOTENCY_KEY_REUSED",
  422,
  "the idempotency key was already used with a different request body",
);
export const IdempotencyInProgress = defineError(
  "IDEMPOTENCY_IN_PROGRESS",
  409,
  "a request with this idempotency key is still in progress",
);

// ── authentication and authorization ──────────────────────────────────────
export const Unauthenticated = defineError("UNAUTHENTICATED", 401, "authentication is required");
export const InvalidCredentials = defineError("INVALID_CREDENTIALS", 401, "the credentials are invalid");
export const TokenInvalid = defineError("TOKEN_INVALID", 401, "the bearer token is invalid");
export const Forbidden = defineError("FORBIDDEN", 403, "not allowed");
export const TooManyAuthFailures = defineError(
  "TOO_MANY_AUTH_FAILURES",
  429,
  "too many failed authentication attempts; retry later",
);
export const CsrfTokenInvalid = defineError(
  "CSRF_TOKEN_INVALID",
  403,
  "a request authenticated by the console session cookie must send the session's csrf token in `X-CSRF-Token`",
);

// ── resources ──────────────────────────────────────────────────────────────
export const NotFound = defineError("NOT_FOUND", 404, "not found");
export const UserNotFound = defineError("USER_NOT_FOUND", 404, "user not found");
export const ApiKeyNotFound = defineError("API_KEY_NOT_FOUND", 404, "api key not found");
export const ServiceAccountNotFound = defineError("SERVICE_ACCOUNT_NOT_FOUND", 404, "service account not found");
export const ServiceAccountNameTaken = defineError(
  "SERVICE_ACCOUNT_NAME_TAKEN",
  409,
  "a service account with this name exists",
);
export const Conflict = defineError("CONFLICT", 409, "the request conflicts with the current state");
export const ScimClientNotFound = defineError("SCIM_CLIENT_NOT_FOUND", 404, "scim client not found");
export const PreconditionFailed = defineError(
  "PRECONDITION_FAILED",
  412,
  "the resource changed since the version named in `If-Match`",
);

// ── directory: organisations, users, groups, members, roles, identity sources ──
export const ReferenceNotFound = defineError(
  "REFERENCE_NOT_FOUND",
  422,
  "a resource the request refers to does not exist",
);
export const OrgNotFound = defineError("ORG_NOT_FOUND", 404, "organisation not found");
export const OrgNameTaken = defineError("ORG_NAME_TAKEN", 409, "an organisation with this name exists");
export const UsernameTaken = defineError("USERNAME_TAKEN", 409, "a user with this username exists in the organisation");
export const GroupNotFound = defineError("GROUP_NOT_FOUND", 404, "group not found");
export const GroupNameTaken = defineError("GROUP_NAME_TAKEN", 409, "a group with this name exists in the organisation");
export const GroupHierarchyCycle = defineError(
  "GROUP_HIERARCHY_CYCLE",
  409,
  "the parent would make the group its own ancestor",
);
export const GroupDepthExceeded = defineError(
  "GROUP_DEPTH_EXCEEDED",
  422,
  "the group hierarchy would be deeper than the organisation allows",
);
export const GroupNotEmpty = defineError(
  "GROUP_NOT_EMPTY",
  409,
  "the group has children or members; delete with force=true to remove them",
);
export const PrincipalInPolicies = defineError(
  "PRINCIPAL_IN_POLICIES",
  409,
  "policies name the user, group or role; delete with force=true to remove it from them",
);
export const MetadataInvalid = defineError(
  "METADATA_INVALID",
  422,
  "metadata does not satisfy the organisation's metaschema",
);
export const MetaschemaInvalid = defineError("METASCHEMA_INVALID", 422, "the metaschema is not a valid json schema");
export const MemberNotFound = defineError("MEMBER_NOT_FOUND", 404, "the user is not a direct member of the group");
export const LastOwner = defineError("GROUP_LAST_OWNER", 409, "a group must keep at least one owner");
export const RoleNotFound = defineError("ROLE_NOT_FOUND", 404, "role not found");
export const RoleNameTaken = defineError("ROLE_NAME_TAKEN", 409, "a role with this name exists");
export const RoleBuiltinImmutable = defineError("ROLE_BUILTIN_IMMUTABLE", 409, "built-in roles cannot be changed");
export const RoleCompositeCycle = defineError("ROLE_COMPOSITE_CYCLE", 409, "the composite roles would form a cycle");
export const RoleBindingNotFound = defineError("ROLE_BINDING_NOT_FOUND", 404, "role binding not found");
export const RoleBindingExists = defineError("ROLE_BINDING_EXISTS", 409, "an identical role binding exists");
export const IdentitySourceNotFound = defineError("IDENTITY_SOURCE_NOT_FOUND", 404, "identity source not found");
export const IdentitySourceNameTaken = defineError(
  "IDENTITY_SOURCE_NAME_TAKEN",
  409,
  "an identity source with this name exists in the organisation",
);
export const DirectoryGroupNotFound = defineError(
  "DIRECTORY_GROUP_NOT_FOUND",
  422,
  "the group does not exist in the external directory",
);
export const DirectoryUnavailable = defineError(
  "DIRECTORY_UNAVAILABLE",
  502,
  "the external directory could not be reached or refused the bind",
);
export const ConnectorNotFound = defineError("CONNECTOR_NOT_FOUND", 404, "connector not found");
export const ConnectorNameTaken = defineError("CONNECTOR_NAME_TAKEN", 409, "a connector with this name exists");
export const ConnectorKindUnavailable = defineError(
  "CONNECTOR_KIND_UNAVAILABLE",
  422,
  "this build has no target for the connector's kind",
);
export const DeadLetterNotFound = defineError(
  "DEAD_LETTER_NOT_FOUND",
  404,
  "the connector has no dead-lettered delivery for this group",
);
export const ConnectorDeliveryFailed = defineError(
  "CONNECTOR_DELIVERY_FAILED",
  502,
  "a connector's target refused the change or did not take it within the wait; delivery stays queued",
);
export const SyncRunning = defineError(
  "SYNC_RUNNING",
  409,
  "a sync of this identity source is running (in this or another server process)",
);
export const SyncRunNotFound = defineError("SYNC_RUN_NOT_FOUND", 404, "sync run not found");
export const SyncScheduleInvalid = defineError(
  "SYNC_SCHEDULE_INVALID",
  400,
  "the sync schedule is neither an interval nor a valid cron expression",
);

// ── policies: service-defs, services, data-access policies ────────────────
export const ServiceDefNotFound = defineError("SERVICE_DEF_NOT_FOUND", 404, "service definition not found");
export const ServiceDefNameTaken = defineError(
  "SERVICE_DEF_NAME_TAKEN",
  409,
  "a service definition with this name exists",
);
export const ServiceDefInvalid = defineError("SERVICE_DEF_INVALID", 400, "the service definition is invalid");
export const ServiceDefInUse = defineError("SERVICE_DEF_IN_USE", 409, "services of this type exist");
export const ServiceNotFound = defineError("SERVICE_NOT_FOUND", 404, "service not found");
export const ServiceNameTaken = defineError("SERVICE_NAME_TAKEN", 409, "a service with this name exists");
export const PolicyNotFound = defineError("POLICY_NOT_FOUND", 404, "policy not found");
export const PolicyVersionNotFound = defineError("POLICY_VERSION_NOT_FOUND", 404, "policy version not found");
export const PolicyNameTaken = defineError("POLICY_NAME_TAKEN", 409, "a policy with this name exists in the service");
export const PolicyDuplicateResources = defineError(
  "POLICY_DUPLICATE_RESOURCES",
  409,
  "another policy of the same type and zone covers an identical resource set",
);
export const PolicyInvalid = defineError("POLICY_INVALID", 400, "the policy is invalid");
export const PolicyImportInvalid = defineError("POLICY_IMPORT_INVALID", 400, "the policy import file is invalid");
export const BulkInputInvalid = defineError("BULK_INPUT_INVALID", 400, "the bulk upload is missing or unreadable");
export const TagAssociationNotFound = defineError("TAG_ASSOCIATION_NOT_FOUND", 404, "tag-role association not found");
export const NameInvalid = defineError("NAME_INVALID", 400, "a name in the request breaks the naming rules");

// ── resource tags and tag services ─────────────────────────────────────────
export const TagServiceInvalid = defineError(
  "TAG_SERVICE_INVALID",
  400,
  "the tag service of a service must be an existing service of the `tag` service-def, and a tag service has none",
);
export const TagServiceInUse = defineError("TAG_SERVICE_IN_USE", 409, "services are linked to this tag service");
export const TagDefNotFound = defineError("TAG_DEF_NOT_FOUND", 404, "tag type not found");
export const TagDefNameTaken = defineError("TAG_DEF_NAME_TAKEN", 409, "a tag type with this name exists");
export const TagDefInUse = defineError("TAG_DEF_IN_USE", 409, "tags of this type exist");
export const TagsInvalid = defineError("TAGS_INVALID", 400, "the tags, tag types or tagged resources are invalid");
export const TaggedResourceNotFound = defineError("TAGGED_RESOURCE_NOT_FOUND", 404, "tagged resource not found");
export const TagNotFound = defineError("TAG_NOT_FOUND", 404, "the resource carries no tag of this type");

// ── security zones ─────────────────────────────────────────────────────────
export const ZoneNotFound = defineError("ZONE_NOT_FOUND", 404, "security zone not found");
export const ZoneNameTaken = defineError(
  "ZONE_NAME_TAKEN",
  409,
  "a security zone with this name exists (names ignore case)",
);
export const ZoneInvalid = defineError(
  "ZONE_INVALID",
  400,
  "the security zone is invalid: unknown services, or resources that are not valid for the service-def",
);
export const ZoneResourcesOverlap = defineError(
  "ZONE_RESOURCES_OVERLAP",
  409,
  "resources of the zone overlap resources another zone claims in the same service",
);
export const ZoneInUse = defineError(
  "ZONE_IN_USE",
  409,
  "policies belong to the zone (or to the service being removed from it); delete or move them first",
);

// ── decisions and policy distribution ─────────────────────────────────────
export const DecisionUserUnknown = defineError(
  "DECISION_USER_UNKNOWN",
  404,
  "the user of the decision is not in the directory; send its groups and roles to decide for an external user",
);
export const ResourceKeyUnknown = defineError(
  "RESOURCE_KEY_UNKNOWN",
  400,
  "a resource key is not a resource of the service's definition",
);
export const AccessTypeUnknown = defineError(
  "ACCESS_TYPE_UNKNOWN",
  400,
  "the access type is not defined by the service's definition",
);
export const RangerOperationNotServed = defineError(
  "RANGER_OPERATION_NOT_SERVED",
  501,
  "this Ranger admin operation has no Gatehouse counterpart and is deliberately not served",
);
export const FrontierOperationNotServed = defineError(
  "FRONTIER_OPERATION_NOT_SERVED",
  501,
  "this Frontier operation or field has no Gatehouse counterpart and is deliberately not served",
);
export const DecisionBudgetExceeded = defineError(
  "DECISION_BUDGET_EXCEEDED",
  422,
  "matching the request's resource values needs more work than one decision request may use (`decisionWorkBudget`); send fewer values",
);

// ── admin console ──────────────────────────────────────────────────────────
export const OidcSignInUnavailable = defineError(
  "OIDC_SIGN_IN_UNAVAILABLE",
  404,
  "oidc sign-in is not configured: set GATEHOUSE_OIDC_ISSUER and GATEHOUSE_CONSOLE_OIDC_CLIENT_ID",
);
export const OidcSignInFailed = defineError("OIDC_SIGN_IN_FAILED", 401, "oidc sign-in failed");
export const ConsoleNotBuilt = defineError(
  "CONSOLE_NOT_BUILT",
  503,
  "the admin console was not built: run `npm run build:console`",
);

// ── server side ────────────────────────────────────────────────────────────
export const DatabaseUnavailable = defineError("DATABASE_UNAVAILABLE", 503, "the database is unavailable");
export const ShuttingDown = defineError("SHUTTING_DOWN", 503, "the server is shutting down");
export const Internal = defineError("INTERNAL", 500, "internal error");

/** Codes once used and retired: they must never be reused for another meaning. */
export const RETIRED_CODES: readonly string[] = [];

/**
 * An error about one field, the commonest 4xx: the message starts with the field (`body.users: ...`)
 * and the one detail carries the field and the failed rule, so clients can point at it.
 */
export function fieldError(
  factory: ErrorFactory,
  field: string,
  rule: string,
  problem: string,
  meta?: Record<string, unknown>,
): AppError {
  const message = `${field}: ${problem}`;
  return factory(message, { details: [{ field, rule, message }], ...(meta ? { meta } : {}) });
}

/** Every code in the catalogue, in definition order (for docs, OpenAPI and tests). */
export function allErrors(): ErrorFactory[] {
  return [...catalogue.values()];
}
