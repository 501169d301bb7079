import type { IncomingHttpHeaders } from "node:http";
import { API_KEY_PREFIX } from "./authenticator.ts";

/** Longest identity kept: the claimed names come from the client. */
const MAX_IDENTITY = 200;

/**
 * What the credential a request presents claims to be, read from its headers without verifying
 * anything, for counting failures per identity (`FailureLimiter`): `psk` for the general PSK
 * (every other `Authorization-PSK` value is a guess at it), `key:<prefix>` for an API key,
 * `basic:<client id>` for a service account, `token:<issuer> <subject>` for a bearer token (its
 * claims unverified, which is enough to name what it claims), `negotiate` for Kerberos. Null when
 * no credential is presented. Covers every header a credential reader accepts (native,
 * `X-Authentication`, `OpsToken`).
 */
export function credentialIdentity(headers: IncomingHttpHeaders): string | null {
  const psk = headers["authorization-psk"];
  if (typeof psk === "string" && psk.trim() !== "") return secretIdentity(psk.trim());
  const token = headers["x-authentication"];
  if (typeof token === "string" && token.trim() !== "") return secretIdentity(token.trim());
  const authorization = headers.authorization;
  if (typeof authorization !== "string" || authorization.trim() === "") return null;
  const [scheme = "", value = ""] = authorization.trim().split(/\s+/, 2);
  switch (scheme.toLowerCase()) {
    case "bearer":
      return value.startsWith(`${API_KEY_PREFIX}_`) ? secretIdentity(value) : tokenIdentity(value);
    case "basic":
      return bounded(`basic:${basicClientId(value)}`);
    case "opstoken":
    case "vrealizeopstoken":
      return secretIdentity(value);
    default:
      return bounded(scheme.toLowerCase() || "malformed");
  }
}

/** The general PSK, or the prefix of an API key (`ghk_<prefix>_<secret>`). */
function secretIdentity(secret: string): string {
  if (!secret.startsWith(`${API_KEY_PREFIX}_`)) return "psk";
  return bounded(`key:${secret.split("_")[1] ?? ""}`);
}

function basicClientId(encoded: string): string {
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon < 0 ? "" : decoded.slice(0, colon);
}

function tokenIdentity(jwt: string): string {
  // not a JWT (a SCIM client token, `ghs_...`): named without a thrown parse error per request
  if (!jwt.includes(".")) return "token:malformed";
  try {
    const payload = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as {
      iss?: unknown;
      sub?: unknown;
    };
    return bounded(`token:${String(payload.iss ?? "")} ${String(payload.sub ?? "")}`);
  } catch {
    return "token:malformed";
  }
}

function bounded(identity: string): string {
  return identity.length > MAX_IDENTITY ? identity.slice(0, MAX_IDENTITY) : identity;
}
