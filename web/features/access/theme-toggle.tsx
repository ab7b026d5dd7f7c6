import { useState } from "preact/hooks";
import { type Prefs, THEMES, type Theme } from "../../../src/protocol/prefs.ts";
import { api, errorMessage } from "../../lib/api.ts";
import { applyTheme, currentTheme } from "../../lib/theme.ts";
import { useToast } from "../../ui/toasts.tsx";

const LABELS: Record<Theme, string> = { system: "System theme", light: "Light theme", dark: "Dark theme" };

/** Light, dark or the browser's: applied at once, kept on the server as the user's own preference. */
export function ThemeToggle() {
  const [theme, setTheme] = useState<Theme>(currentTheme);
  const toast = useToast();
  const choose = async (next: Theme) => {
    const before = theme;
    setTheme(next);
    applyTheme(next);
    try {
      await api<{ prefs: Prefs }>("PUT", "/auth/prefs", { theme: next });
    } catch (err) {
      setTheme(before);
      applyTheme(before);
      toast({ kind: "error", text: `Could not keep the theme: ${errorMessage(err)}` });
    }
  };
  return (
    <select
      class="theme-toggle"
      data-testid="theme"
      aria-label="Theme"
      value={theme}
      onChange={(e) => void choose(e.currentTarget.value as Theme)}
    >
      {THEMES.map((t) => (
        <option key={t} value={t}>
          {LABELS[t]}
        </option>
      ))}
    </select>
  );
}
