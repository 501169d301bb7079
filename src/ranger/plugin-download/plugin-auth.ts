import { type BlockList, isIP } from "node:net";
import type { Ability } from "../../auth/abilities.ts";
import type { Actor } from "../../auth/actor.ts";
import type { KerberosAcceptor, KerberosIdentity } from "../../auth/kerberos.ts";
import { Forbidden, fieldError } from "../../errors.ts";
import { type CredentialReader, nativeCredentials, WWW_AUTHENTICATE } from "../../http/authentication.ts";
import { findServiceWithDef } from "../../service-defs/service-defs.store.ts";
import type { Queryable } from "../../storage/db.ts";

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

/**
 * The caller of a plugin route who proved a Kerberos principal (SPNEGO). It holds only the one
 * ability of the route it called: the principal is no directory user, and each service's allow
 * lists decide the rest.
 */
function kerberosActor(identity: KerberosIdentity, ability: Ability): Actor {
  return {
    type: "kerberos",
    id: identity.principal,
    name: identity.shortName,
    authMethod: "kerberos",
    orgId: null,
    email: null,
    fullName: null,
    roles: [],
    permissions: new Set([ability]),
    realmRoles: [],
    clientRoles: [],
  };
}

/**
 * Credentials of Ranger's `/secure/` plugin paths and of the role calls plugins make: the native
 * ones, and, when Kerberos is configured, `Authorization: Negotiate <token>` (SPNEGO), which is how
 * a Ranger plugin on a Kerberised cluster authenticates to Ranger admin. A Kerberos caller holds
 * the route's `ability` alone and is then held to the service's allow lists
 * (`assertPluginAllowed`, `assertServicePluginAllowed`), as Ranger holds it.
 */
export function securePluginCredentials(kerberos: KerberosAcceptor | null, ability: Ability): CredentialReader {
  return (request, authenticator) => {
    const authorization = request.headers.authorization;
    if (kerberos && authorization && /^negotiate\s/i.test(authorization)) {
      const token = authorization.slice("negotiate".length).trim();
      return kerberos.accept(token).then((identity) => kerberosActor(identity, ability));
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
 * Ranger's rule for a Kerberos plugin on the role calls, which name their service in a parameter
 * (`?serviceName=`, or grant/revoke's path `{serviceName}`) that may be absent or unknown: the
 * service must exist and the principal be in one of its `lists`. Ranger looks the service up to admit its service user;
 * a Kerberos caller naming no service, or one Gatehouse does not know, is refused with FORBIDDEN
 * naming `field`, as nothing says which allow list would admit it. Native credentials always pass.
 */
export async function assertServicePluginAllowed(
  db: Queryable,
  actor: Actor,
  serviceName: string | undefined,
  field: string,
  lists: readonly PluginAllowList[],
): Promise<void> {
  if (actor.type !== "kerberos") return;
  const found = serviceName ? await findServiceWithDef(db, serviceName) : undefined;
  if (!found) {
    const problem = serviceName
      ? `no service \`${serviceName}\` exists, so nothing admits \`${actor.name}\` (Kerberos ${actor.id}); a Kerberos caller must name the service whose ${lists.join(" or ")} lists it`
      : `\`${actor.name}\` (Kerberos ${actor.id}) names no service; a Kerberos caller must name the service whose ${lists.join(" or ")} lists it`;
    throw fieldError(Forbidden, field, "knownService", problem);
  }
  assertPluginAllowed(actor, found.service.configs, lists);
}

/**
 * Route config of a plugin path needing `ability` (the `/secure/` paths, the role calls): native
 * credentials, plus SPNEGO with a `Negotiate` challenge first (Java's and curl's clients pick it)
 * when Kerberos is on.
 */
export function securePluginConfig(kerberos: KerberosAcceptor | null, ability: Ability) {
  return kerberos
    ? {
        ability,
        credentials: securePluginCredentials(kerberos, ability),
        challenge: `Negotiate, ${WWW_AUTHENTICATE}`,
      }
    : { ability };
}
