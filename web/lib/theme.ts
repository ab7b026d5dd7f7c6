/** The user's theme on the page: the server serves the page with it already set (src/server/ui.ts). */
import type { Theme } from "../../src/protocol/prefs.ts";

export function applyTheme(theme: Theme | undefined): void {
  const root = document.documentElement;
  if (theme === "light" || theme === "dark") root.dataset.theme = theme;
  else delete root.dataset.theme;
}

export function currentTheme(): Theme {
  const t = document.documentElement.dataset.theme;
  return t === "light" || t === "dark" ? t : "system";
}
