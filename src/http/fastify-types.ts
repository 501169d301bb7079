import type { FastifyRequest } from "fastify";
import type { Ability } from "../auth/abilities.ts";
import type { Actor } from "../auth/actor.ts";
import type { CredentialReader } from "./authentication.ts";
import type { ErrorShaper } from "./error-handler.ts";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The ability the route requires; every route must declare one (a test enforces it). */
    ability?: Ability;
    /** How credentials are read (compatibility routes use their products' headers). */
    credentials?: CredentialReader;
    /**
     * Admits a caller that lacks `ability` when it resolves true (zone administrators on policy
     * routes, src/zones/zone-admins.ts); the handler must then enforce the narrower rule itself.
     */
    delegatedAdmission?: (request: FastifyRequest) => Promise<boolean>;
    /** `WWW-Authenticate` challenge sent with 401s from this route. */
    challenge?: string;
    /** What a 401 from this route tells the caller to send (the headers the route reads). */
    credentialHint?: string;
    /** The error body shape of this route (native unless it reproduces another product's API). */
    errorShape?: ErrorShaper;
  }
  interface FastifyRequest {
    /** The authenticated caller (ANONYMOUS on public routes). */
    actor: Actor;
    /**
     * The console session that authenticated the request (its cookie's secret), or null when the
     * request was authenticated otherwise (src/console/).
     */
    consoleSession: { secret: string } | null;
  }
}
