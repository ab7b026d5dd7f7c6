import type { JobItem } from "../../../src/protocol/views.ts";
import { ApiError, api, csrfToken } from "../../lib/api.ts";

export const imagesPath = (env: string) => `/envs/${encodeURIComponent(env)}/images`;

export interface HistoryLayer {
  id: string;
  created: number;
  created_by: string;
  tags: string[];
  size: number;
  comment: string;
}

export interface PrunePreview {
  images: { id: string; tags: string[]; size: number }[];
  space: number;
}

export const shortId = (id: string) => id.replace(/^sha256:/, "").slice(0, 12);

export const pull = (env: string, reference: string) =>
  api<{ job: JobItem }>("POST", `${imagesPath(env)}/pull`, { reference });
export const push = (env: string, reference: string) =>
  api<{ job: JobItem }>("POST", `${imagesPath(env)}/push`, { reference });
export const tag = (env: string, id: string, reference: string) =>
  api("POST", `${imagesPath(env)}/${id}/tag`, { reference });
export const remove = (env: string, id: string, force: boolean) =>
  api("DELETE", `${imagesPath(env)}/${id}${force ? "?force=true" : ""}`);
export const previewPrune = (env: string, all: boolean) =>
  api<PrunePreview>("GET", `${imagesPath(env)}/prune${all ? "?all=1" : ""}`);
export const prune = (env: string, all: boolean) =>
  api<{ removed: string[]; space: number }>("POST", `${imagesPath(env)}/prune`, { all });
export const build = (env: string, body: { dockerfile: string; tags: string[] }) =>
  api<{ job: JobItem }>("POST", `${imagesPath(env)}/build`, body);
export const exportHref = (env: string, name: string) =>
  `/api/v1${imagesPath(env)}/get?names=${encodeURIComponent(name)}`;

/**
 * POSTs a file as the request body (a tar), reporting the share sent as it goes: fetch cannot tell
 * an upload's progress, XHR can.
 */
export function uploadFile(
  path: string,
  file: Blob,
  onProgress: (sent: number, total: number) => void,
): Promise<{ job: JobItem }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1${path}`);
    xhr.setRequestHeader("Content-Type", "application/x-tar");
    xhr.setRequestHeader("X-CSRF-Token", csrfToken());
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => reject(new ApiError(0, "network", "The upload did not reach the panel."));
    xhr.onload = () => {
      let body: { job?: JobItem; error?: { code: string; message: string } } = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not our JSON
      }
      if (xhr.status < 300 && body.job) resolve({ job: body.job });
      else
        reject(
          new ApiError(
            xhr.status,
            body.error?.code ?? "error",
            body.error?.message ?? `${xhr.status} ${xhr.statusText}`,
          ),
        );
    };
    xhr.send(file);
  });
}
