import type { CredentialReader } from "../../http/authentication.ts";

/** What a 401 from an RBAC route offers. */
export const PUPPET_CHALLENGE = 'X-Authentication realm="gatehouse"';

/**
 * Puppet's credential: `X-Authentication: <token>`, where the token is a Gatehouse API key (the
 * general PSK also works, so a new installation can call the API before it has users). Puppet's
 * `?token=` query parameter is not read: tokens in URLs end up in access logs. No header: null (401).
 */
export const puppetCredentials: CredentialReader = async (request, authenticator) => {
  const token = request.headers["x-authentication"];
  if (typeof token !== "string" || token.trim() === "") return null;
  return authenticator.fromPsk(token.trim());
};
