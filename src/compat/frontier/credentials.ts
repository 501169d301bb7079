import { type CredentialReader, nativeCredentials } from "../../http/authentication.ts";

/** What a 401 from a Frontier route offers. */
export const FRONTIER_CHALLENGE = 'Bearer realm="gatehouse", Basic realm="gatehouse"';

/**
 * Frontier's credentials: `Authorization: Bearer` (an OIDC token, or a Gatehouse API key standing
 * in for a Frontier personal access token) and `Authorization: Basic` with a service account's
 * client id and secret. Gatehouse's own `Authorization-PSK` keeps working, so a new installation
 * can call these routes with the key printed at first start. No header: null (401).
 */
export const frontierCredentials: CredentialReader = async (request, authenticator) => {
  const authorization = request.headers.authorization;
  const pat = typeof authorization === "string" ? /^bearer\s+(ghk_\S+)\s*$/i.exec(authorization) : null;
  if (pat?.[1]) return authenticator.fromApiKey(pat[1]);
  return nativeCredentials(request, authenticator);
};
