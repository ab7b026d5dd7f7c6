import { OpenAPIHono } from "@hono/zod-openapi";
import type { User } from "../auth/users.ts";
import { errorBody } from "./errors.ts";

export interface AppVariables {
  user: User;
  authVia: "cookie" | "token";
}

export type AppEnv = { Variables: AppVariables };

/** Every router validates with the same hook, so a schema failure always reads the same way. */
export function newRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const message = result.error.issues
        .map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message))
        .join("; ");
      return c.json(errorBody("invalid_request", message), 400);
    },
  });
}
