// The Keycloak contract double in its own process for bench/sync/keycloak.ts, so the double's work does not share
// the target's event loop. Usage: node bench/sync/keycloak-double-server.ts <users>; prints {"baseUrl": ...} once
// listening, with users u00000..u<users-1> seeded; answers each "stats" line on stdin with the double's counters.
import { createInterface } from "node:readline";
import { startKeycloakDouble } from "../../test/support/keycloak-double.ts";

const users = Number(process.argv[2] ?? 0);
const double = await startKeycloakDouble();
for (let i = 0; i < users; i++) double.addUser(userName(i));
process.stdout.write(`${JSON.stringify({ baseUrl: double.baseUrl })}\n`);
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() === "stats") {
    process.stdout.write(`${JSON.stringify(double.stats)}\n`);
    double.resetStats();
  }
});
process.on("SIGTERM", () => void double.close().then(() => process.exit(0)));

/** The bench's username for user number `i` (the same as in keycloak.ts). */
function userName(i: number): string {
  return `u${String(i).padStart(5, "0")}`;
}
