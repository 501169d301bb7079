import { createContext, useContext } from "react";
import type { Session } from "./api/client.ts";

/** The signed-in session; pages read the actor's abilities from it to hide write controls. */
export const SessionContext = createContext<Session | null>(null);

/** The session (pages render only when signed in). */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside a signed-in console");
  return s;
}

/** True when the actor holds `ability` (`*` holds all), as the server decides it. */
export function useCan(
  ability:
    | "directory.read"
    | "directory.write"
    | "policy.read"
    | "policy.write"
    | "credentials.write"
    | "audit.read"
    | "decision.check",
): boolean {
  const s = useContext(SessionContext);
  const perms = s?.whoami.permissions ?? [];
  return perms.includes("*") || perms.includes(ability);
}
