import { type BlockList, isIP } from "node:net";
import type { Ability } from "../auth/abilities.ts";
import type { Actor } from "../auth/actor.ts";
import type { KerberosAcceptor, KerberosIdentity } from "../auth/kerberos.ts";
import { Forbidden } from "../errors.ts";
import { type CredentialReader, nativeCredentials, WWW_AUTHENTICATE } from "../http/authentication.ts";

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

/** The caller of a `/secure/` plugin route who proved a Kerberos principal (SPNEGO). */
function kerberosActor(identity: KerberosIdentity): Actor {
  return {
    type: "kerberos",
    id: identity.principal,
    name: identity.shortName,
    authMethod: "kerberos",
    orgId: null,
    email: null,
    fullName: null,
    roles: [],
    // what the /secure/ plugin routes need; each service's allow lists decide the rest
    permissions: new Set(["policy.read", "policy.write"]),
    realmRoles: [],
    clientRoles: [],
  };
}

/**
 * Credentials of Ranger's `/secure/` plugin paths: the native ones, and, when Kerberos is
 * configured, `Authorization: Negotiate <token>` (SPNEGO), which is how a Ranger plugin on a
 * Kerberised cluster authenticates to Ranger admin. A Kerberos caller is then held to the
 * service's allow lists (`allowedByService`), as Ranger holds it.
 */
export function securePluginCredentials(kerberos: KerberosAcceptor | null): CredentialReader {
  return (request, authenticator) => {
    const authorization = request.headers.authorization;
    if (kerberos && authorization && /^negotiate\s/i.test(authorization)) {
      const token = authorization.slice("negotiate".length).trim();
      return kerberos.accept(token).then(kerberosActor);
    }
    return nativeCredentials(request, authenticator);
  };
}

/** A service's plugin allow lists, as Ranger names its configs. */
export type PluginAllowList =
  | "policy.download.auth.users"
  | "tag.download.auth.users"
  | "policy.grantrevoke.auth.users";

/**
 * Ranger's rule for a plugin authenticated by Kerberos (`RangerBizUtil#isUserAllowed`): its short
 * name must be in one of the service's `lists` (comma-separated, compared without case; `*`
 * admits everyone). Native credentials are judged by their abilities instead and always pass.
 * Throws FORBIDDEN naming the lists the caller is missing from.
 */
export function assertPluginAllowed(
  actor: Actor,
  configs: Readonly<Record<string, string>>,
  lists: readonly PluginAllowList[],
): void {
  if (actor.type !== "kerberos") return;
  const name = actor.name.toLowerCase();
  const listed = lists.some((list) =>
    (configs[list] ?? "")
      .split(",")
      .map((u) => u.trim().toLowerCase())
      .some((u) => u === "*" || u === name),
  );
  if (!listed)
    throw Forbidden(`\`${actor.name}\` (Kerberos ${actor.id}) is not in the service's ${lists.join(" or ")}`);
}

/**
 * Route config of a `/secure/` plugin path needing `ability`: native credentials, plus SPNEGO
 * with a `Negotiate` challenge first (Java's and curl's clients pick it) when Kerberos is on.
 */
export function securePluginConfig(kerberos: KerberosAcceptor | null, ability: Ability) {
  return kerberos
    ? { ability, credentials: securePluginCredentials(kerberos), challenge: `Negotiate, ${WWW_AUTHENTICATE}` }
    : { ability };
}
