import type { HTTPMethods, onSendHookHandler, RouteOptions } from "fastify";

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** True when a route answers at least one method that can change state. */
export function isWriteRoute(route: RouteOptions): boolean {
  const methods: readonly (HTTPMethods | string)[] = Array.isArray(route.method) ? route.method : [route.method];
  return methods.some((m) => !READ_METHODS.has(m.toUpperCase()));
}

/**
 * Appends an `onSend` hook to one route (from an `onRoute` hook). Work that only follows writes
 * is attached to the routes that write, instead of a root hook that every request, the decision
 * path included, would run only to find it has nothing to do. A new array each time: Fastify
 * shares the options object of a GET route with its implied HEAD route.
 */
export function appendOnSend(route: RouteOptions, hook: onSendHookHandler): void {
  const existing = route.onSend;
  route.onSend = [...(existing === undefined ? [] : Array.isArray(existing) ? existing : [existing]), hook];
}
