/**
 * A restore's upload: the file goes as the raw request body through XMLHttpRequest, the one
 * browser API that reports upload progress; the answer comes once the panel has read the volume
 * back and compared it.
 */
import { ApiError } from "../../lib/api.ts";
import { apiUrl, volumePath } from "./api.ts";

export interface Restored {
  volume: string;
  created: boolean;
  files: number;
  directories: number;
  symlinks: number;
  bytes: number;
  verified: boolean;
}

export function uploadRestore(
  env: string,
  name: string,
  file: Blob,
  options: { create: boolean; replace: boolean },
  onProgress: (sent: number, total: number) => void,
): Promise<Restored> {
  const query = new URLSearchParams();
  if (options.create) query.set("create", "true");
  if (options.replace) query.set("replace", "true");
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", apiUrl(`${volumePath(env, name)}/restore?${query}`));
    xhr.setRequestHeader("Content-Type", "application/gzip");
    xhr.setRequestHeader("X-CSRF-Token", /(?:^|;\s*)gp_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? "");
    xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => reject(new ApiError(0, "network", "The upload failed: the panel cannot be reached."));
    xhr.onload = () => {
      let body: { error?: { code?: string; message?: string } } & Partial<Restored> = {};
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        // not our JSON: said below by its status
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body as Restored);
      else
        reject(
          new ApiError(
            xhr.status,
            body.error?.code ?? `http_${xhr.status}`,
            body.error?.message ?? `${xhr.status} ${xhr.statusText}`,
          ),
        );
    };
    xhr.send(file);
  });
}
