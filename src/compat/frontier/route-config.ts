import { FRONTIER_CHALLENGE, frontierCredentials } from "./credentials.ts";
import { frontierErrorShape } from "./errors.ts";

/** OpenAPI tag of every Frontier route. */
export const TAGS = ["compat: frontier"];

/** Authentication of every Frontier route: its credentials, challenge and error shape. */
const auth = {
  credentials: frontierCredentials,
  challenge: FRONTIER_CHALLENGE,
  credentialHint:
    "`Authorization: Bearer <token or API key>`, `Authorization: Basic` service-account credentials or Authorization-PSK",
  errorShape: frontierErrorShape,
};

/** Route config of a Frontier read (`directory.read`). */
export const read = { ...auth, ability: "directory.read" as const };
/** Route config of a Frontier write (`directory.write`). */
export const write = { ...auth, ability: "directory.write" as const };
