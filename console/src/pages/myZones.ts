import { api } from "../api/client.ts";
import { type RequestState, useRequest } from "../components/useRequest.ts";

/** The zones the session's actor administers and audits (`GET /v1/whoami/zones`). */
export interface MyZones {
  administers: string[];
  audits: string[];
}

/**
 * Which zones the signed-in actor administers and audits: a zone administrator often holds no
 * `policy.read`, so the console shows it these zones first rather than a list it may not read.
 */
export function useMyZones(): RequestState<MyZones> {
  return useRequest("whoami-zones", (signal) => api<MyZones>("GET", "/v1/whoami/zones", { signal }));
}
