import * as oidc from "openid-client";
import { OidcSignInFailed } from "../errors.ts";

/** Settings of the console's OIDC client. */
export interface OidcSignInOptions {
  issuer: string;
  clientId: string;
  /** Absent for a public client, which proves itself by PKCE alone. */
  clientSecret?: string | undefined;
  scopes: string;
}

/** What the server keeps between the redirect to the issuer and the callback. */
export interface SignInStart {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
}

/** Tokens of a completed sign-in. */
export interface SignInResult {
  accessToken: string;
  /** `sub` of the validated ID token. */
  subject: string;
}

/**
 * The console's OIDC sign-in: authorization code flow with PKCE (S256), `state` and `nonce`,
 * through `openid-client` (discovery, the token request, ID token validation). The issuer's
 * metadata is discovered on first use and again after a failure, so an issuer that is down at
 * start-up does not break the server.
 */
export class OidcSignIn {
  readonly #options: OidcSignInOptions;
  #configuration: Promise<oidc.Configuration> | undefined;

  constructor(options: OidcSignInOptions) {
    this.#options = options;
  }

  /** The authorization URL to send the browser to, with the secrets its callback will need. */
  async start(redirectUri: string): Promise<SignInStart> {
    const configuration = await this.#discover();
    const codeVerifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = oidc.buildAuthorizationUrl(configuration, {
      redirect_uri: redirectUri,
      scope: this.#options.scopes,
      response_type: "code",
      code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    return { url, state, nonce, codeVerifier };
  }

  /**
   * Exchanges the callback's code for tokens, checking `state`, the PKCE verifier and the ID
   * token (signature, issuer, audience, expiry, nonce). `callbackUrl` is the redirect URI with the
   * query the issuer sent.
   */
  async finish(
    callbackUrl: URL,
    pending: { state: string; nonce: string; codeVerifier: string },
  ): Promise<SignInResult> {
    const configuration = await this.#discover();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(configuration, callbackUrl, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw OidcSignInFailed(`oidc sign-in failed: ${describe(err)}`, { cause: err });
    }
    const subject = tokens.claims()?.sub;
    if (!subject) throw OidcSignInFailed("oidc sign-in failed: the id token has no subject");
    return { accessToken: tokens.access_token, subject };
  }

  #discover(): Promise<oidc.Configuration> {
    this.#configuration ??= this.#discovery().catch((err: unknown) => {
      this.#configuration = undefined; // try again on the next sign-in
      throw OidcSignInFailed(`oidc sign-in failed: the issuer's discovery failed: ${describe(err)}`, { cause: err });
    });
    return this.#configuration;
  }

  #discovery(): Promise<oidc.Configuration> {
    const { issuer, clientId, clientSecret } = this.#options;
    const url = new URL(issuer);
    return oidc.discovery(
      url,
      clientId,
      undefined,
      clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None(),
      // An http issuer is the operator's choice (GATEHOUSE_OIDC_ISSUER allows it for bearer tokens too).
      { timeout: 10, ...(url.protocol === "http:" ? { execute: [oidc.allowInsecureRequests] } : {}) },
    );
  }
}

/** A reason fit for a 401 message: openid-client's own message (it names the failed check), never a token. */
function describe(err: unknown): string {
  const error = err as { message?: string; error?: string; error_description?: string; code?: string };
  if (error.error) return `${error.error}${error.error_description ? `: ${error.error_description}` : ""}`;
  return (error.message ?? String(err)).toLowerCase().replace(/\.$/, "");
}
