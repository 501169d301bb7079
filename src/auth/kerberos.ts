import { createRequire } from "node:module";
import { InvalidCredentials } from "../errors.ts";

/** What an accepted SPNEGO token proved. */
export interface KerberosIdentity {
  /** The client's full principal, e.g. `hive/worker1.example.com@EXAMPLE.COM`. */
  principal: string;
  /**
   * Its short name by Hadoop's default `auth_to_local` rule (first component, realm dropped):
   * the name Ranger compares with a service's `policy.download.auth.users`.
   */
  shortName: string;
}

/** How Gatehouse accepts Kerberos (GATEHOUSE_KERBEROS_* settings). */
export interface KerberosOptions {
  /** Keytab holding the service's key (`HTTP/<host>@REALM`). */
  keytab: string;
  /** GSS host-based service name (`HTTP@host`); empty accepts any principal in the keytab. */
  service: string;
  /** The realm whose principals are accepted; a principal of any other realm is refused. */
  realm: string;
}

type KerberosAddon = typeof import("kerberos");

/**
 * Accepts SPNEGO (`Authorization: Negotiate <token>`) as Ranger admin does for its plugins'
 * `/secure/` paths, through MIT Kerberos's GSS-API (the `kerberos` addon): the ticket is checked
 * against the service keytab, with the library's replay cache. The addon is an optional
 * dependency loaded only when Kerberos is configured, so servers without it (or without the
 * system's Kerberos libraries) start as before.
 */
export class KerberosAcceptor {
  readonly #addon: KerberosAddon;
  readonly #options: KerberosOptions;

  private constructor(addon: KerberosAddon, options: KerberosOptions) {
    this.#addon = addon;
    this.#options = options;
  }

  /**
   * Loads the addon and points GSS-API at the keytab (`KRB5_KTNAME`, read by the library when it
   * acquires the acceptor's credentials). Throws an error saying what to install when the addon
   * cannot be loaded.
   */
  static load(options: KerberosOptions): KerberosAcceptor {
    let addon: KerberosAddon;
    try {
      addon = createRequire(import.meta.url)("kerberos") as KerberosAddon;
    } catch (err) {
      throw new Error(
        `GATEHOUSE_KERBEROS_KEYTAB is set but the kerberos addon cannot be loaded (${(err as Error).message}); install the system's Kerberos headers (Debian: apt-get install libkrb5-dev) and run \`npm rebuild kerberos\``,
      );
    }
    process.env.KRB5_KTNAME = `FILE:${options.keytab}`;
    return new KerberosAcceptor(addon, options);
  }

  /**
   * Verifies one SPNEGO token (base64, as sent after `Negotiate `). Throws INVALID_CREDENTIALS
   * with GSS-API's reason for a token it refuses (bad, expired, replayed, for another service),
   * and for a principal outside the configured realm.
   */
  async accept(token: string): Promise<KerberosIdentity> {
    let principal: string;
    try {
      const server = await this.#addon.initializeServer(this.#options.service);
      await server.step(token);
      if (!server.contextComplete || !server.username) {
        throw new Error("the exchange did not complete: send one complete Kerberos (SPNEGO) token");
      }
      principal = server.username;
    } catch (err) {
      throw InvalidCredentials(`the Kerberos (SPNEGO) token was refused: ${(err as Error).message}`);
    }
    const at = principal.lastIndexOf("@");
    const realm = at < 0 ? "" : principal.slice(at + 1);
    if (realm !== this.#options.realm) {
      throw InvalidCredentials(
        `the Kerberos principal \`${principal}\` is not of the realm ${this.#options.realm} (GATEHOUSE_KERBEROS_REALM)`,
      );
    }
    return { principal, shortName: principal.slice(0, at).split("/")[0] ?? "" };
  }
}
