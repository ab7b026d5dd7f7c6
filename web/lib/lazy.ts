import { useEffect, useState } from "preact/hooks";

export type Loaded<T> = { module: T } | { error: string } | null;

/**
 * A module kept out of the first load (the bundler gives each dynamic import its own chunk), fetched
 * when a view first needs it and kept from then on. The hook returns null while it loads.
 */
export function lazy<T>(load: () => Promise<T>): () => Loaded<T> {
  let loaded: Loaded<T> = null;
  let pending: Promise<void> | null = null;
  return function useLazy(): Loaded<T> {
    const [, rerender] = useState(0);
    useEffect(() => {
      if (loaded) return;
      let mounted = true;
      pending ??= load().then(
        (module) => {
          loaded = { module };
        },
        (err: unknown) => {
          // Typically a panel upgraded since this page loaded: its old chunks are gone.
          console.error("ghostpanel: could not load a part of the UI", err);
          loaded = { error: "This view could not be loaded: reload the page." };
        },
      );
      pending.then(() => mounted && rerender((n) => n + 1));
      return () => {
        mounted = false;
      };
    }, []);
    return loaded;
  };
}
