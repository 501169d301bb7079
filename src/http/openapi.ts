import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { FastifyInstance } from "fastify";
import { VERSION } from "../version.ts";

/**
 * The OpenAPI 3.1 document, generated from the route schemas, served at `/openapi.json`, and
 * the interactive reference at `/docs`. Every native route gets the shared error responses.
 */
export async function installOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Gatehouse",
        version: VERSION,
        description:
          "Access governance for data platforms: directory, Ranger-compatible policies and a policy decision point. Errors share one shape (`Error`); codes are listed in docs/errors.md.",
      },
      components: {
        securitySchemes: {
          APIKeyHeader: {
            type: "apiKey",
            in: "header",
            name: "Authorization-PSK",
            description: "The general PSK or a user's API key",
          },
          bearer: { type: "http", scheme: "bearer", bearerFormat: "JWT", description: "Token of the OIDC issuer" },
          basic: { type: "http", scheme: "basic", description: "Service account client id and secret" },
        },
      },
      security: [{ APIKeyHeader: [] }, { bearer: [] }, { basic: [] }],
    },
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? json.title ?? `def-${i}`),
    },
  });
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    uiConfig: { docExpansion: "list", deepLinking: true },
    staticCSP: false,
  });
  app.get("/openapi.json", { config: { ability: "public" }, schema: { hide: true } }, async () => app.swagger());
}
