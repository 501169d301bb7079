// The ceiling of the HTTP stack on this machine: a bare Fastify route returning a fixed small
// JSON body, in its own process like the server under test. Prints its URL on stdout.
import Fastify from "fastify";

const app = Fastify({ logger: false });
const body = { allowed: true, policyId: 1 };
app.post("/bare", async () => body);
app.get("/bare", async () => body);
const url = await app.listen({ host: "127.0.0.1", port: 0 });
process.stdout.write(`${url}\n`);
process.on("SIGTERM", () => app.close().then(() => process.exit(0)));
