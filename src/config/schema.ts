import { type Static, Type } from "typebox";

/**
 * The one configuration schema. Each key carries the environment variable that sets it and a
 * description; docs/config.md is generated from this file (`npm run docs:config`) and a test
 * fails when the two drift.
 */
export const configSchema = Type.Object(
  {
    host: Type.String({
      minLength: 1,
      default: "127.0.0.1",
      env: "GATEHOUSE_HOST",
      description: "Address the HTTP server listens on. Use 0.0.0.0 to listen on every interface.",
    }),
    port: Type.Integer({
      minimum: 0,
      maximum: 65535,
      default: 8080,
      env: "GATEHOUSE_PORT",
      description: "TCP port of the HTTP server; 0 picks a free port.",
    }),
    dataDir: Type.String({
      minLength: 1,
      default: "./.gatehouse",
      env: "GATEHOUSE_DATA_DIR",
      description: "Folder for the embedded database and other local state.",
    }),
    databaseUrl: Type.Optional(
      Type.String({
        pattern: "^postgres(ql)?://",
        env: "GATEHOUSE_DATABASE_URL",
        description:
          "A postgres:// URL selects PostgreSQL. When absent, the embedded database (PGlite) under the data dir is used: single node only.",
      }),
    ),
    databasePoolSize: Type.Integer({
      minimum: 1,
      maximum: 200,
      default: 10,
      env: "GATEHOUSE_DATABASE_POOL_SIZE",
      description: "Maximum PostgreSQL connections of one server process.",
    }),
    psk: Type.Optional(
      Type.String({
        minLength: 16,
        env: "GATEHOUSE_PSK",
        description:
          "The general pre-shared key (full administrator, `Authorization-PSK` header). When absent, the first start generates one, prints it once and stores only its hash.",
      }),
    ),
    oidcIssuer: Type.Optional(
      Type.String({
        pattern: "^https?://",
        env: "GATEHOUSE_OIDC_ISSUER",
        description:
          "OIDC issuer whose bearer tokens are accepted (e.g. a Keycloak realm URL). Keys come from its discovery document and JWKS.",
      }),
    ),
    oidcAudience: Type.Optional(
      Type.String({
        minLength: 1,
        env: "GATEHOUSE_OIDC_AUDIENCE",
        description: "Audience a bearer token must carry. Required when an issuer is set.",
      }),
    ),
    oidcClientId: Type.Optional(
      Type.String({
        minLength: 1,
        env: "GATEHOUSE_OIDC_CLIENT_ID",
        description:
          "Client whose roles (`resource_access.<client>.roles`) are read from tokens; defaults to the audience.",
      }),
    ),
    roleMapping: Type.Record(Type.String(), Type.Array(Type.String()), {
      default: {},
      env: "GATEHOUSE_ROLE_MAPPING",
      description:
        'Token role → Gatehouse built-in roles, as JSON, e.g. `{"realm-admin": ["gatehouse-admin"]}`. A token role named like a built-in role always maps to it.',
    }),
    logLevel: Type.Union(
      [
        Type.Literal("fatal"),
        Type.Literal("error"),
        Type.Literal("warn"),
        Type.Literal("info"),
        Type.Literal("debug"),
        Type.Literal("trace"),
        Type.Literal("silent"),
      ],
      { default: "info", env: "GATEHOUSE_LOG_LEVEL", description: "pino log level." },
    ),
    pluginDownloadNetworks: Type.String({
      default: "",
      env: "GATEHOUSE_PLUGIN_DOWNLOAD_NETWORKS",
      description:
        "Comma-separated addresses and CIDR blocks (IPv4 or IPv6) whose Ranger plugins may download policies, roles and tags on the non-secure paths (`/service/plugins/policies/download/…`, `/service/roles/download/…`, `/service/tags/download/…`) without credentials, as Ranger serves them. Empty: every download authenticates. The `/secure/` paths always authenticate.",
    }),
    rangerPdpUserHeader: Type.String({
      default: "",
      maxLength: 128,
      env: "GATEHOUSE_RANGER_PDP_USER_HEADER",
      description:
        "Header naming the caller of the Ranger PDP routes (`/authz/v1/*`), as Ranger's `ranger.pdp.authn.header.username` (e.g. `X-Forwarded-User`). Trusted only from `GATEHOUSE_RANGER_PDP_TRUSTED_NETWORKS`; empty: callers authenticate with Gatehouse credentials or a JWT only.",
    }),
    rangerPdpTrustedNetworks: Type.String({
      default: "",
      env: "GATEHOUSE_RANGER_PDP_TRUSTED_NETWORKS",
      description:
        "Comma-separated addresses and CIDR blocks (IPv4 or IPv6) of the proxies allowed to name the PDP caller in `GATEHOUSE_RANGER_PDP_USER_HEADER`. From anywhere else the header is ignored. Empty: the header is never trusted.",
    }),
    rangerPdpDelegationUsers: Type.String({
      default: "",
      env: "GATEHOUSE_RANGER_PDP_DELEGATION_USERS",
      description:
        "Ranger PDP delegation users (`ranger.pdp.service.<service>.delegation.users`): `service=user,user;*=user`, callers that may ask the PDP about other users, supply groups, roles or attributes, or call `/authz/v1/permissions` and `/authz/v1/filterResources`; those under `*` in every service. Empty: callers may only ask about themselves.",
    }),
    kerberosKeytab: Type.Optional(
      Type.String({
        minLength: 1,
        env: "GATEHOUSE_KERBEROS_KEYTAB",
        description:
          "Keytab of Gatehouse's HTTP service principal (`HTTP/<host>@REALM`). When set, the Ranger plugin paths that Ranger admin authenticates with Kerberos (the `/secure/` policy, role and tag downloads and GRANT/REVOKE, and the plugins' role calls) accept `Authorization: Negotiate` (SPNEGO), and a Kerberos caller must be in the service's `policy.download.auth.users`, `tag.download.auth.users` or `policy.grantrevoke.auth.users`. Needs the optional `kerberos` addon (built with the system's Kerberos headers: `apt-get install libkrb5-dev`).",
      }),
    ),
    kerberosRealm: Type.Optional(
      Type.String({
        minLength: 1,
        env: "GATEHOUSE_KERBEROS_REALM",
        description:
          "The realm whose principals are accepted (required with GATEHOUSE_KERBEROS_KEYTAB); a principal's short name is its first component, as Hadoop's default auth_to_local rule gives it.",
      }),
    ),
    kerberosService: Type.String({
      default: "",
      env: "GATEHOUSE_KERBEROS_SERVICE",
      description:
        "GSS host-based name of the accepting principal, e.g. `HTTP@gatehouse.example.com`. Empty: any principal in the keytab.",
    }),
    bodyLimitBytes: Type.Integer({
      minimum: 1024,
      default: 1_048_576,
      env: "GATEHOUSE_BODY_LIMIT_BYTES",
      description: "Largest JSON request body accepted; larger bodies get 413.",
    }),
    decisionWorkBudget: Type.Integer({
      minimum: 1,
      default: 250_000,
      env: "GATEHOUSE_DECISION_WORK_BUDGET",
      description:
        "Matching work one decision request (or one whole batch) may spend on resource elements given as lists of values, in units of one policy value tried against one request value; a request that needs more gets 422 DECISION_BUDGET_EXCEEDED instead of holding the server (docs/decisions.md, Limits).",
    }),
    auditRetentionDays: Type.Integer({
      minimum: 0,
      default: 365,
      env: "GATEHOUSE_AUDIT_RETENTION_DAYS",
      description: "Audit events older than this are deleted hourly; 0 keeps them forever.",
    }),
    tagChangeLogVersions: Type.Integer({
      minimum: 0,
      default: 10_000,
      env: "GATEHOUSE_TAG_CHANGE_LOG_VERSIONS",
      description:
        "Tag versions of each service kept in the resource-tag change log, pruned when a change is written: plugins (`supportsTagDeltas=true`) and live engines further behind get the whole `ServiceTags` instead of a delta. 0 keeps none (no tag deltas).",
    }),
    authFailureLimit: Type.Integer({
      minimum: 1,
      default: 20,
      env: "GATEHOUSE_AUTH_FAILURE_LIMIT",
      description:
        "Failed authentications per window that lock out a client address, and that put a credential identity (the general PSK, an API key, a service account, a token subject) under attack. An attempt is refused with 429 only when its address is locked out and the identity it presents is under attack, so a correct credential still works from any other address, and from the locked-out address when that credential is not the one being guessed (docs/operations.md).",
    }),
    authFailureWindowSeconds: Type.Integer({
      minimum: 1,
      default: 60,
      env: "GATEHOUSE_AUTH_FAILURE_WINDOW_SECONDS",
      description: "Length of the failed-authentication window.",
    }),
    trustedProxies: Type.String({
      default: "",
      env: "GATEHOUSE_TRUSTED_PROXIES",
      description:
        "Comma-separated addresses and CIDR blocks (IPv4 or IPv6) of the reverse proxies in front of Gatehouse. A request arriving from one of them is attributed to the address its `X-Forwarded-For` names (read right to left, past every trusted proxy); from any other peer the header is ignored. The client address is what failed-authentication lockouts count, audit events record and policy conditions see. Empty: no proxy is trusted and every client is its socket's peer, so behind a proxy all clients share the proxy's address.",
    }),
    shutdownGraceSeconds: Type.Integer({
      minimum: 0,
      default: 10,
      env: "GATEHOUSE_SHUTDOWN_GRACE_SECONDS",
      description: "How long a shutdown waits for in-flight requests before closing connections.",
    }),
    nx1Service: Type.String({
      minLength: 1,
      maxLength: 255,
      default: "trino",
      env: "GATEHOUSE_NX1_SERVICE",
      description:
        "Service the Nx1 governance routes (`/api/govern/data-access/*`) act on. Created as a `trino` service at start-up when absent.",
    }),
    consoleDir: Type.Optional(
      Type.String({
        minLength: 1,
        env: "GATEHOUSE_CONSOLE_DIR",
        description:
          "Folder of the built admin console served at `/console/` (Vite output: `index.html` and `assets/`). Defaults to `console/dist` of the installation. When it holds no `index.html`, `/console/` answers 503 saying how to build it (`npm run build:console`); the API is unaffected.",
      }),
    ),
    consoleSessionTtlSeconds: Type.Integer({
      minimum: 60,
      maximum: 30 * 24 * 3600,
      default: 8 * 3600,
      env: "GATEHOUSE_CONSOLE_SESSION_TTL_SECONDS",
      description:
        "Lifetime of a console session (the `gatehouse_session` cookie's `Max-Age`), from sign-in, whatever the activity.",
    }),
    consoleSessionIdleSeconds: Type.Integer({
      minimum: 60,
      maximum: 30 * 24 * 3600,
      default: 3600,
      env: "GATEHOUSE_CONSOLE_SESSION_IDLE_SECONDS",
      description: "A console session unused for this long ends, even before its lifetime is over.",
    }),
    consoleOidcClientId: Type.Optional(
      Type.String({
        minLength: 1,
        env: "GATEHOUSE_CONSOLE_OIDC_CLIENT_ID",
        description:
          "OIDC client of the console's sign-in (authorization code with PKCE at `GATEHOUSE_OIDC_ISSUER`). OIDC sign-in is offered when this and the issuer are set. Its access tokens must be accepted as bearer tokens (carry `GATEHOUSE_OIDC_AUDIENCE`): the signed-in user gets the roles such a token maps to.",
      }),
    ),
    consoleOidcClientSecret: Type.Optional(
      Type.String({
        minLength: 1,
        env: "GATEHOUSE_CONSOLE_OIDC_CLIENT_SECRET",
        description: "Secret of the console's OIDC client; absent for a public client (PKCE only).",
      }),
    ),
    consoleOidcRedirectUri: Type.Optional(
      Type.String({
        pattern: "^https?://",
        env: "GATEHOUSE_CONSOLE_OIDC_REDIRECT_URI",
        description:
          "Redirect URI registered for the console's OIDC client, ending in `/v1/console/oidc/callback`. Defaults to that path on the host and scheme the browser used (behind a proxy, set it or trust the proxy's `X-Forwarded-*` with `GATEHOUSE_TRUSTED_PROXIES`).",
      }),
    ),
    consoleOidcScopes: Type.String({
      minLength: 1,
      default: "openid profile email",
      env: "GATEHOUSE_CONSOLE_OIDC_SCOPES",
      description: "Scopes the console's OIDC sign-in asks for (space-separated; must include `openid`).",
    }),
    connectorWorkers: Type.Boolean({
      default: true,
      env: "GATEHOUSE_CONNECTOR_WORKERS",
      description:
        "Run connector delivery workers in this process (docs/connectors.md). With PostgreSQL, one process leads each connector (advisory lock); the others take over within seconds when it dies.",
    }),
    connectorWaitMs: Type.Integer({
      minimum: 0,
      maximum: 600_000,
      default: 10_000,
      env: "GATEHOUSE_CONNECTOR_WAIT_MS",
      description:
        "How long the Nx1 group route waits for its groups to reach every connector of the organisation before answering 502 (docs/connectors.md).",
    }),
    connectorMaxAttempts: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 12,
      env: "GATEHOUSE_CONNECTOR_MAX_ATTEMPTS",
      description: "Failed deliveries of one group after which it is parked in the connector's dead letters.",
    }),
    connectorRetryMaxMs: Type.Integer({
      minimum: 10,
      maximum: 3_600_000,
      default: 30_000,
      env: "GATEHOUSE_CONNECTOR_RETRY_MAX_MS",
      description: "Longest delay between two delivery attempts (exponential backoff from 500 ms, with jitter).",
    }),
    connectorReconcileSeconds: Type.Integer({
      minimum: 0,
      maximum: 31_536_000,
      default: 86_400,
      env: "GATEHOUSE_CONNECTOR_RECONCILE_SECONDS",
      description:
        "Interval of each connector's scheduled reconcile (repairs changes made on the target by hand); 0 turns it off.",
    }),
  },
  { additionalProperties: false },
);

/** The validated, frozen configuration every component receives. */
export type Config = Readonly<Static<typeof configSchema>>;
