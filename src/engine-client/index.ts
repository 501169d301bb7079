/**
 * `gatehouse/engine/client`: keeps a local `gatehouse/engine` current from a Gatehouse server.
 * Separate from `gatehouse/engine` because it does I/O (fetch) and the engine stays pure.
 */
export { PolicyClient, type PolicyClientOptions } from "./policy-client.ts";
