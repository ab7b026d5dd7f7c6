/** A user's own UI choices, kept on the server (`GET /api/v1/auth/me`, `PUT /api/v1/auth/prefs`). */
export const THEMES = ["system", "light", "dark"] as const;
export type Theme = (typeof THEMES)[number];

export interface Prefs {
  /** "system" follows the browser's prefers-color-scheme */
  theme: Theme;
}

export const DEFAULT_PREFS: Prefs = { theme: "system" };

/**
 * The theme again, as a cookie the server sets with the prefs: the page itself is then served with
 * it (src/server/ui.ts), so the first paint is already in the user's theme.
 */
export const THEME_COOKIE = "gp_theme";
