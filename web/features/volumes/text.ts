/** Volume wording shared by the list and the detail page. */
import type { VolumeItem } from "../../../src/protocol/views.ts";

/** "web, db and 2 you cannot see" */
export function usersText(v: VolumeItem): string {
  const names = v.used_by.map((u) => u.name);
  if (v.used_by_hidden) names.push(`${v.used_by_hidden} you cannot see`);
  return names.join(", ");
}

/** How old a reading is: "just now", "5 minutes ago". */
export function ago(iso: string, now: number): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 10) return "just now";
  if (s < 90) return `${s} seconds ago`;
  const m = Math.round(s / 60);
  if (m < 90) return `${m} minutes ago`;
  return new Date(iso).toLocaleString();
}
