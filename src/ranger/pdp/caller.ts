import type { IncomingHttpHeaders } from "node:http";
import { type BlockList, isIP } from "node:net";
import { can } from "../../auth/abilities.ts";
import type { Actor } from "../../auth/actor.ts";
import type { Authenticator } from "../../auth/authenticator.ts";
import { type CredentialReader, nativeCredentials } from "../../http/authentication.ts";

const DECISIONS_ONLY: ReadonlySet<string> = new Set(["decision.check"]);

/** Where a PDP caller's name may come from besides Gatehouse credentials. */
export interface TrustedHeader {
  /** Header carrying the caller's name (Ranger's `ranger.pdp.authn.header.username`), lower-cased. */
  name: string;
  /** Client addresses allowed to set it: a proxy or mesh in front of Gatehouse. */
  networks: BlockList;
}

/**
 * The caller named by the trusted header, when the header is configured, present and sent from
 * one of the trusted networks; null otherwise (from anywhere else the header is ignored, so a
 * client cannot name itself).
 */
export function trustedCaller(trusted: TrustedHeader | null, headers: IncomingHttpHeaders, ip: string): string | null {
  if (trusted === null) return null;
  const value = headers[trusted.name];
  if (typeof value !== "string" || value.trim() === "") return null;
  const family = isIP(ip);
  if (family === 0 || !trusted.networks.check(ip, family === 4 ? "ipv4" : "ipv6")) return null;
  return value.trim();
}

/**
 * The actor of a caller named by the trusted header: authenticated by its network, allowed to
 * check decisions and nothing else.
 */
export function headerActor(name: string): Actor {
  return {
    type: "network",
    id: null,
    name,
    authMethod: "network",
    orgId: null,
    email: null,
    fullName: null,
    roles: [],
    permissions: DECISIONS_ONLY,
    realmRoles: [],
    clientRoles: [],
  };
}

/**
 * How the PDP routes authenticate, in Ranger PDP's order: the trusted header (from the trusted
 * networks only), then a JWT from the OIDC issuer, Basic service-account credentials or
 * `Authorization-PSK`, as everywhere in Gatehouse.
 */
export function pdpCredentials(trusted: TrustedHeader | null): CredentialReader {
  return (request, authenticator) => {
    const name = trustedCaller(trusted, request.headers, request.ip);
    return name !== null ? headerActor(name) : nativeCredentials(request, authenticator);
  };
}

/**
 * The caller's name when it is known without I/O (the fast lane's check): the trusted header,
 * the general PSK or an API key, service-account or token credential verified moments ago, that
 * holds `decision.check` as the route requires.
 */
export function peekCaller(
  trusted: TrustedHeader | null,
  authenticator: Authenticator,
  headers: IncomingHttpHeaders,
  ip: string,
): { name: string } | null {
  const name = trustedCaller(trusted, headers, ip);
  if (name !== null) return { name };
  let actor: Actor | null = null;
  const psk = headers["authorization-psk"];
  if (typeof psk === "string" && psk.length > 0) actor = authenticator.peekPsk(psk.trim());
  else {
    const authorization = headers.authorization;
    const space = authorization?.indexOf(" ") ?? -1;
    if (authorization === undefined || space < 0) return null;
    const scheme = authorization.slice(0, space).toLowerCase();
    const value = authorization.slice(space + 1).trim();
    if (scheme === "basic") actor = authenticator.peekBasic(value);
    else if (scheme === "bearer") actor = authenticator.peekBearer(value);
  }
  return actor !== null && can(actor, "decision.check") ? { name: actor.name } : null;
}
