import type { FastifyInstance } from "fastify";
import { installJsonParser } from "../../http/input-guard.ts";

/**
 * Lets requests carry `Content-Type: application/json` with no body, in this plugin's routes only.
 * Frontier (grpc-gateway), Puppet RBAC and VMware Aria accept such requests, and script libraries
 * often send the JSON content type on every call, DELETE included; Fastify's parser refuses an
 * empty JSON body, so `DELETE …/groups/{id}` from such a script was a 400. A non-empty body is
 * parsed exactly as before (same poisoning rules, same size limit); an empty one is no body, so a
 * route that needs a body still fails its schema check and names it.
 */
export function acceptEmptyJsonBody(app: FastifyInstance): void {
  installJsonParser(app, { allowEmpty: true });
}
