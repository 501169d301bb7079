import { useCallback, useState } from "react";

/** The state of a write the user starts: its error (shown with message and field) and whether it runs. */
export interface ActionState {
  error: unknown;
  busy: boolean;
  /** Runs `work`; resolves true when it succeeded, false when it failed (the error is kept for the form). */
  run: (work: () => Promise<unknown>) => Promise<boolean>;
  clear: () => void;
}

/**
 * One write of a form or button: keeps the server's error so the form can show it next to the
 * field it names, and a busy flag so a double click does not send the write twice.
 */
export function useAction(): ActionState {
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const run = useCallback(async (work: () => Promise<unknown>) => {
    setError(undefined);
    setBusy(true);
    try {
      await work();
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  const clear = useCallback(() => setError(undefined), []);
  return { error, busy, run, clear };
}
