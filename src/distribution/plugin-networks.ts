import { type BlockList, isIP } from "node:net";
import type { Actor } from "../auth/actor.ts";
import { type CredentialReader, nativeCredentials } from "../http/authentication.ts";

/** The caller of a download admitted by its network alone: it may read policies, nothing else. */
function pluginActor(ip: string): Actor {
  return {
    type: "network",
    id: null,
    name: `ranger-plugin@${ip}`,
    authMethod: "network",
    orgId: null,
    email: null,
    fullName: null,
    roles: [],
    permissions: new Set(["policy.read"]),
    realmRoles: [],
    clientRoles: [],
  };
}

/**
 * Credentials of Ranger's non-secure download paths (`/service/plugins/policies/download/…`,
 * `/service/roles/download/…`, `/service/tags/download/…`). Ranger serves those to any caller and
 * its plugins send no credentials unless Kerberos is on, so a stock plugin can only work against
 * Gatehouse unchanged if Gatehouse admits it too. Gatehouse does so only for the networks the
 * operator lists, and only for requests that carry no credentials: a request that presents a
 * credential is authenticated as usual (a wrong one is still a 401, never downgraded).
 * The `/secure/` twins always require credentials.
 */
export function pluginDownloadCredentials(networks: BlockList | null): CredentialReader {
  return (request, authenticator) => {
    const presented = nativeCredentials(request, authenticator);
    if (presented !== null || networks === null) return presented;
    const ip = request.ip;
    const family = isIP(ip);
    if (family === 0 || !networks.check(ip, family === 4 ? "ipv4" : "ipv6")) return null;
    return pluginActor(ip);
  };
}
