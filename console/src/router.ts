import { useCallback, useSyncExternalStore } from "react";

/**
 * A small router over the History API: the path picks the page and the query string holds every
 * filter and the page cursor, so reload, back and a shared link restore them.
 */

export const BASE = "/console";
const CHANGE = "gatehouse:navigate";

function subscribe(callback: () => void): () => void {
  window.addEventListener("popstate", callback);
  window.addEventListener(CHANGE, callback);
  return () => {
    window.removeEventListener("popstate", callback);
    window.removeEventListener(CHANGE, callback);
  };
}

const snapshot = () => window.location.pathname + window.location.search;

const pathSnapshot = () => window.location.pathname;

function belowBase(pathname: string): string {
  const path = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  return path === "" ? "/" : path;
}

/**
 * The current path below `/console`, without the query: a component that only picks the page
 * (the shell) re-renders when the page changes, not on every filter keystroke or page turn.
 */
export function usePath(): string {
  return belowBase(useSyncExternalStore(subscribe, pathSnapshot));
}

/** The current path below `/console` (e.g. `/groups`) and its query parameters. */
export function useLocation(): { path: string; params: URLSearchParams } {
  const href = useSyncExternalStore(subscribe, snapshot);
  const url = new URL(href, window.location.origin);
  return { path: belowBase(url.pathname), params: url.searchParams };
}

/** Goes to `to` (a path below `/console`, with its query); `replace` keeps one history entry. */
export function navigate(to: string, options: { replace?: boolean; state?: unknown } = {}): void {
  const url = to.startsWith(BASE) ? to : BASE + to;
  if (options.replace) window.history.replaceState(options.state ?? null, "", url);
  else window.history.pushState(options.state ?? null, "", url);
  window.dispatchEvent(new Event(CHANGE));
}

/** Reads and writes query parameters of the current page; setting a filter resets the cursor. */
export function useQueryState(): {
  params: URLSearchParams;
  get: (name: string) => string;
  set: (changes: Record<string, string | null | undefined>, options?: { replace?: boolean; state?: unknown }) => void;
} {
  const { path, params } = useLocation();
  const set = useCallback(
    (changes: Record<string, string | null | undefined>, options: { replace?: boolean; state?: unknown } = {}) => {
      const next = new URLSearchParams(window.location.search);
      for (const [k, v] of Object.entries(changes)) {
        if (v === null || v === undefined || v === "") next.delete(k);
        else next.set(k, v);
      }
      const q = next.toString();
      navigate(path + (q ? `?${q}` : ""), options);
    },
    [path],
  );
  return { params, get: (name) => params.get(name) ?? "", set };
}
