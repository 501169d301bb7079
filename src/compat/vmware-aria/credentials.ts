import { type CredentialReader, nativeCredentials } from "../../http/authentication.ts";

/** What a 401 from an Aria route offers. */
export const ARIA_CHALLENGE = 'OpsToken realm="gatehouse", vRealizeOpsToken realm="gatehouse"';

const OPS_TOKEN = /^(?:OpsToken|vRealizeOpsToken)\s+(\S+)\s*$/i;

/**
 * VMware Aria Operations' credential: `Authorization: OpsToken <token>` (VCF Operations 9) or
 * `vRealizeOpsToken <token>` (8.x), where the token is a Gatehouse API key (or the general PSK).
 * Other schemes fall through to Gatehouse's own (`Bearer`, as VCF Operations accepts SSO tokens;
 * `Basic` service accounts; `Authorization-PSK`). `POST /api/auth/token/acquire` is not served.
 * No header: null (401).
 */
export const ariaCredentials: CredentialReader = async (request, authenticator) => {
  const authorization = request.headers.authorization;
  const token = typeof authorization === "string" ? OPS_TOKEN.exec(authorization) : null;
  if (token?.[1]) return authenticator.fromPsk(token[1]);
  return nativeCredentials(request, authenticator);
};
