import { useCallback, useEffect, useRef, useState } from "react";

/** The state of one request: its data, error and whether it is loading; `retry` runs it again. */
export interface RequestState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  retry: () => void;
}

/**
 * Runs `load` whenever `key` changes (the serialized inputs); a later answer replaces an earlier one
 * and an answer to an outdated key is dropped, so a fast typist never sees stale results.
 */
export function useRequest<T>(key: string, load: (signal: AbortSignal) => Promise<T>, enabled = true): RequestState<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: enabled });
  const [attempt, setAttempt] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  // biome-ignore lint/correctness/useExhaustiveDependencies: key and attempt are the inputs by design
  useEffect(() => {
    if (!enabled) {
      setState({ loading: false });
      return;
    }
    const controller = new AbortController();
    setState((s) => ({ data: s.data, loading: true }));
    loadRef.current(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setState({ data, loading: false });
      },
      (error) => {
        if (!controller.signal.aborted) setState((s) => ({ data: s.data, error, loading: false }));
      },
    );
    return () => controller.abort();
  }, [key, attempt, enabled]);
  const retry = useCallback(() => setAttempt((n) => n + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, retry };
}
