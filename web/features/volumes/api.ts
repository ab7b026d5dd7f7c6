/** The volume routes, as the pages call them. */
import type { VolumeItem, VolumeSizes } from "../../../src/protocol/views.ts";
import { api } from "../../lib/api.ts";

export const volumesPath = (env: string) => `/envs/${encodeURIComponent(env)}/volumes`;
export const volumePath = (env: string, name: string) => `${volumesPath(env)}/${encodeURIComponent(name)}`;
/** Links the browser follows itself (downloads), with the session cookie. */
export const apiUrl = (path: string) => `/api/v1${path}`;

export interface DirEntry {
  name: string;
  type: "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo" | "other";
  size: number;
  mode: number;
  mtime: number;
  link?: string;
}

export interface Listing {
  path: string;
  entries: DirEntry[];
  capped: boolean;
}

export interface PrunePreview {
  volumes: VolumeItem[];
  size: number | null;
  sizes_at: string | null;
}

export const getSizes = (env: string, refresh = false) =>
  api<VolumeSizes>("GET", `${volumesPath(env)}/_sizes${refresh ? "?refresh=true" : ""}`);

export const listFiles = (env: string, name: string, path: string) =>
  api<Listing>("GET", `${volumePath(env, name)}/files?path=${encodeURIComponent(path)}`);

export const fileUrl = (env: string, name: string, path: string) =>
  apiUrl(`${volumePath(env, name)}/file?path=${encodeURIComponent(path)}`);

export const backupUrl = (env: string, name: string) => apiUrl(`${volumePath(env, name)}/backup`);

export const createVolume = (env: string, body: unknown) => api<VolumeItem>("POST", volumesPath(env), body);

export const removeVolume = (env: string, name: string) => api<void>("DELETE", volumePath(env, name));

export const prunePreview = (env: string) => api<PrunePreview>("GET", `${volumesPath(env)}/_prune`);

export const prune = (env: string) =>
  api<{ deleted: string[]; space_reclaimed: number }>("POST", `${volumesPath(env)}/_prune`);

/** What GET /file and /backup are for: the browser downloads them itself. */
export function download(url: string): void {
  const a = document.createElement("a");
  a.href = url;
  a.download = "";
  document.body.append(a);
  a.click();
  a.remove();
}
