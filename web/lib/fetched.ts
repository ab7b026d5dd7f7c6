/** Helpers of the access pages (account, users, teams, security), which load with them. */
import { useCallback, useContext, useEffect, useState } from "preact/hooks";
import { api, errorMessage } from "./api.ts";
import { ReportError } from "./report.ts";

export interface Fetched<T> {
  /** null while loading, or when loading failed. */
  data: T | null;
  error: string | null;
  reload: () => void;
}

/** A GET answer, fetched on mount and again on `reload()` (after a change made on the page). */
export function useFetched<T>(path: string): Fetched<T> {
  const [state, setState] = useState<{ data: T | null; error: string | null }>({ data: null, error: null });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    api<T>("GET", path).then(
      (data) => current && setState({ data, error: null }),
      (err: unknown) => current && setState({ data: null, error: errorMessage(err) }),
    );
    return () => {
      current = false;
    };
  }, [path, round]);
  return { ...state, reload: useCallback(() => setRound((n) => n + 1), []) };
}

/**
 * Runs changes one at a time: `busy` disables the buttons meanwhile, a failure goes to the
 * page-wide alert (where a 409's reason, say, is read), and the answer says whether it worked.
 */
export function useChange(): { busy: boolean; run: (change: () => Promise<unknown>) => Promise<boolean> } {
  const report = useContext(ReportError);
  const [busy, setBusy] = useState(false);
  const run = async (change: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await change();
      return true;
    } catch (err) {
      report(err);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, run };
}

export function dateTime(ms: number | null, none = "never"): string {
  return ms === null ? none : new Date(ms).toLocaleString();
}
