import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/context.ts";

/**
 * The seed's clients read an error as `{"error": "<message>"}`; the panel's other routes answer
 * `{"error": {"code", "message"}}`. On the Vesla paths every error the panel makes (the auth gate's
 * and validation's included) is reshaped to the seed's form, the code kept beside it.
 */
export const veslaErrorShape: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next();
  if (c.res.status < 400 || !c.res.headers.get("content-type")?.startsWith("application/json")) return;
  const body = (await c.res
    .clone()
    .json()
    .catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
  const error = body?.error;
  if (!error || typeof error !== "object") return;
  const headers = new Headers(c.res.headers);
  headers.delete("content-length");
  c.res = new Response(JSON.stringify({ error: error.message ?? "", code: error.code ?? "" }), {
    status: c.res.status,
    headers,
  });
};

/** The paths that answer in the seed's shapes. */
export const VESLA_PATHS = ["/health", "/api/apps", "/api/apps/*"] as const;
