import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { EngineError } from "../engine/errors.ts";
import { NotFound } from "../envs/resolve.ts";
import type { ErrorBody } from "../protocol/views.ts";
import { storageProblem } from "../store/write-health.ts";

/** A failure the API reports as `{"error":{"code","message"}}` with its own status. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function errorBody(code: string, message: string): ErrorBody {
  return { error: { code, message } };
}

/**
 * Engine answers become API errors: the engine's 4xx are the caller's mistakes and keep their
 * meaning; an unreachable engine is 503; anything else the engine fails at is 502, never our 500.
 */
export function fromEngineError(err: EngineError): ApiError {
  if (err.unreachable) return new ApiError(503, "engine_unreachable", err.message);
  switch (err.status) {
    case 400:
      return new ApiError(400, "bad_request", err.message);
    case 404:
      return new ApiError(404, "not_found", err.message);
    case 409:
      return new ApiError(409, "conflict", err.message);
    default:
      return new ApiError(502, "engine_error", `engine answered ${err.status}: ${err.message}`);
  }
}

export function handleError(err: Error, c: Context): Response {
  if (err instanceof NotFound) return c.json(errorBody("not_found", err.message), 404);
  if (err instanceof ApiError) return c.json(errorBody(err.code, err.message), err.status);
  if (err instanceof EngineError) {
    const api = fromEngineError(err);
    return c.json(errorBody(api.code, api.message), api.status);
  }
  if (err instanceof HTTPException) {
    const code = err.status === 413 ? "body_too_large" : err.status === 400 ? "bad_request" : "http_error";
    return c.json(errorBody(code, err.message || "bad request"), err.status as ContentfulStatusCode);
  }
  // A write that met a full disk before the audit middleware knew of it: the middleware's own write
  // of this request's entry fails next, and notes it.
  const problem = storageProblem(err);
  if (problem) {
    return c.json(
      errorBody("storage_unavailable", `database writes failing: ${problem}; the change was not stored`),
      problem === "disk full" ? 507 : 503,
    );
  }
  console.error("unhandled error on", c.req.method, c.req.path, err);
  return c.json(errorBody("internal", "internal error; see the panel's log"), 500);
}
