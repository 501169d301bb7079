/** How the caller proved who it is (Nx1's `auth_method` values plus our own). */
export type AuthMethod =
  | "general_psk"
  | "user_psk"
  | "keycloak_token"
  | "service_account"
  | "network"
  | "kerberos"
  | "scim_token"
  | "none";

/** Who is calling: resolved once per request by authentication, then used by authorization and audit. */
export interface Actor {
  /**
   * `network`: admitted by the client address alone (Ranger plugin downloads from listed networks);
   * `kerberos`: a Ranger plugin's principal proved by SPNEGO on the `/secure/` plugin paths;
   * `scim_client`: an identity provider's SCIM bearer token, bound to one organisation (src/scim/).
   */
  type: "psk" | "user" | "service_account" | "token" | "network" | "kerberos" | "scim_client" | "anonymous";
  /** Gatehouse id of the user or service account; the token's `sub` for bearer tokens. */
  id: string | null;
  name: string;
  authMethod: AuthMethod;
  /** Organisation the credential belongs to; null for the general PSK and tokens (all organisations). */
  orgId: string | null;
  email: string | null;
  fullName: string | null;
  /** Built-in Gatehouse roles the caller holds. */
  roles: string[];
  /** Permissions of those roles (`*` = everything). */
  permissions: ReadonlySet<string>;
  /** Roles as the credential states them (Keycloak realm and client roles), for whoami. */
  realmRoles: string[];
  clientRoles: string[];
}

/** The actor of a request that carried no credentials. */
export const ANONYMOUS: Actor = Object.freeze({
  type: "anonymous",
  id: null,
  name: "anonymous",
  authMethod: "none",
  orgId: null,
  email: null,
  fullName: null,
  roles: [],
  permissions: new Set<string>(),
  realmRoles: [],
  clientRoles: [],
});
