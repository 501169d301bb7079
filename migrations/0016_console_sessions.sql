-- The admin console's sign-in (docs/console.md): sessions exchanged for a key or an OIDC sign-in,
-- and the short-lived state of OIDC sign-ins in progress. Held in the database rather than in
-- process memory, so every server of a cluster knows every session and every sign-in.
-- Forward-only: never edit once released.

-- A console session. The cookie carries a random secret of which only the hash is kept here; the
-- key that opened the session is never stored, only what identifies it (the API key's id, a
-- fingerprint of the general PSK, the token's subject and claims), so each request re-checks it:
-- a revoked API key or a changed general PSK ends its sessions at once.
create table console_sessions (
  id            uuid primary key default gen_random_uuid(),
  secret_hash   text not null unique,
  -- hash of the CSRF token the session's unsafe requests must send in `X-CSRF-Token`
  csrf_hash     text not null,
  auth_method   text not null check (auth_method in ('general_psk', 'user_psk', 'keycloak_token')),
  -- the API key's id, the general PSK's fingerprint, or the OIDC subject
  credential_id text not null,
  api_key_id    uuid references api_keys (id) on delete cascade,
  -- OIDC sessions: the verified token's identity and roles (never the token itself)
  token_claims  jsonb,
  created_at    timestamptz not null default now(),
  expires_at    timestamptz not null,
  last_seen_at  timestamptz not null default now(),
  revoked_at    timestamptz,
  check ((auth_method = 'user_psk') = (api_key_id is not null)),
  check ((auth_method = 'keycloak_token') = (token_claims is not null))
);
create index console_sessions_expires on console_sessions (expires_at);
create index console_sessions_api_key on console_sessions (api_key_id) where api_key_id is not null;

-- An OIDC sign-in between the redirect to the issuer and its callback: used once, then deleted.
create table console_oidc_logins (
  state_hash    text primary key,
  code_verifier text not null,
  nonce         text not null,
  return_to     text not null,
  expires_at    timestamptz not null
);
