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

export interface ApiOptions {
  /** Sent twice, it does no more than once (GETs always are): tried again if its answer is lost. */
  repeatable?: boolean;
}

/** The pauses before each new try of a repeatable request whose answer never came. */
const AGAIN_AFTER_MS = [400, 1_200];

export async function api<T>(
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  path: string,
  body?: unknown,
  options: ApiOptions = {},
): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken();
  const res = await reach(
    BASE + path,
    {
      method,
      credentials: "same-origin",
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    },
    method === "GET" || options.repeatable === true,
  );
  if (res.status === 401) sessionEnded();
  if (!res.ok) throw await toError(res);
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/**
 * Chromium drops the requests under way when the host's interfaces change (ERR_NETWORK_CHANGED: an
 * engine on the same machine starting or stopping containers does it), and a mobile link drops
 * them too. A request that may be sent again is, after a pause; the others say so at once.
 */
async function reach(url: string, init: RequestInit, repeatable: boolean): Promise<Response> {
  for (const pause of repeatable ? AGAIN_AFTER_MS : []) {
    try {
      return await fetch(url, init);
    } catch {
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
  try {
    return await fetch(url, init);
  } catch {
    throw new ApiError(0, "network", "The panel server cannot be reached.");
  }
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
