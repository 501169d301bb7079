/**
 * The Keycloak contract double (keycloak-double.ts) as a standalone server, for trying a keycloak
 * connector by hand where no Keycloak runs (docs/connectors.md walks through it). It serves the
 * admin REST endpoints the connector uses for one realm and the client `gatehouse-sync` (secret
 * `s3cret`, every realm-management role), keeps everything in memory, and runs until stopped.
 *
 *   npm run keycloak:double -- [--port 8180] [--realm data] [--user alice --user bob]
 */
import { parseArgs } from "node:util";
import { KeycloakDouble } from "./keycloak-double.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "8180" },
    realm: { type: "string", default: "data" },
    user: { type: "string", multiple: true, default: [] },
  },
});
const kc = new KeycloakDouble({ realm: values.realm, port: Number(values.port) });
await kc.start();
for (const user of values.user) kc.addUser(user);
process.stdout.write(
  `Keycloak double on ${kc.baseUrl}, realm ${kc.realm}, client gatehouse-sync (secret s3cret), users: ${values.user.join(", ") || "none"}\n`,
);
const stop = () => void kc.close().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
