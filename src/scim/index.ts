import { isUtf8 } from "node:buffer";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { fieldError, ValidationFailed } from "../errors.ts";
import type { Db } from "../storage/db.ts";
import { scimClientRoutes } from "./clients.routes.ts";
import { SCIM_CHALLENGE, ScimTokens } from "./credentials.ts";
import { scimDiscoveryRoutes } from "./discovery.routes.ts";
import { scimErrorShape } from "./errors.ts";
import { scimGroupRoutes } from "./groups.routes.ts";
import { scimUserRoutes } from "./users.routes.ts";

/** What every `/scim/v2` route shares: the SCIM client's bearer token and SCIM's error shape. */
export interface ScimAuth {
  credentials: ScimTokens["reader"];
  challenge: string;
  credentialHint: string;
  errorShape: typeof scimErrorShape;
}

/**
 * The SCIM 2.0 server (RFC 7643, RFC 7644) at `/scim/v2`, mapped onto the directory's services
 * (no second copy of users or groups, no second copy of their rules), and the SCIM clients that
 * may call it (`/v1/scim-clients`). See docs/scim.md.
 */
export function scimRoutes(db: Db): FastifyPluginAsyncTypebox {
  return async (app) => {
    const tokens = new ScimTokens(db);
    await app.register(scimClientRoutes(db, tokens));
    await app.register(async (scim) => {
      // SCIM's own media type (RFC 7644 §8.1), read as JSON with the app's UTF-8 and poisoning rules
      const { onProtoPoisoning, onConstructorPoisoning } = scim.initialConfig;
      const parse = scim.getDefaultJsonParser(onProtoPoisoning ?? "error", onConstructorPoisoning ?? "error");
      scim.addContentTypeParser("application/scim+json", { parseAs: "buffer" }, (request, body, done) => {
        const bytes = body as Buffer;
        if (!isUtf8(bytes)) {
          return done(fieldError(ValidationFailed, "body", "validUtf8", "must be valid UTF-8 bytes"), undefined);
        }
        parse(request, bytes.toString("utf8"), done);
      });
      const auth: ScimAuth = {
        credentials: tokens.reader,
        challenge: SCIM_CHALLENGE,
        credentialHint: "`Authorization: Bearer <scim client token>`",
        errorShape: scimErrorShape,
      };
      await scim.register(scimDiscoveryRoutes(auth));
      await scim.register(scimUserRoutes(db, auth));
      await scim.register(scimGroupRoutes(db, auth));
    });
  };
}
