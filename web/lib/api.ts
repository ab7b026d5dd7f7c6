/** JSON fetch wrapper for the panel's REST API (same origin, session cookie). */
import { sendToLogin } from "../app/route.ts";

const BASE = "/api/v1";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => {};

/** The app learns here that the session is gone, to drop its user and live stream. */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

/** The session is gone (a 401, or the live stream closed for it): to the login page. */
export function sessionEnded(): void {
  sendToLogin();
  onUnauthorized();
}

/** The session's CSRF token: the panel sets it in a cookie only our own pages can read. */
export function csrfToken(): string {
  return /(?:^|;\s*)gp_csrf=([^;]+)/.exec(document.cookie)?.[1] ?? "";
}

export async function api<T>(
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  path: string,
  body?: unknown,
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  let res: Response;
  try {
    res = await fetch(BASE + path, {
      method,
      credentials: "same-origin",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, "network", "The panel server cannot be reached.");
  }
  if (res.status === 401) sessionEnded();
  if (!res.ok) throw await toError(res);
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

async function toError(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  try {
    const { error } = JSON.parse(text) as { error?: { code?: string; message?: string } };
    if (error?.message) return new ApiError(res.status, error.code ?? "error", error.message);
  } catch {
    // Not our JSON: something in front of the panel answered.
  }
  const plain = res.headers.get("content-type")?.startsWith("text/plain") ? text.trim().slice(0, 300) : "";
  return new ApiError(res.status, `http_${res.status}`, plain || `${res.status} ${res.statusText}`.trim());
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
