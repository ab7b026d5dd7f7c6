import { z } from "@hono/zod-openapi";

export const ErrorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }) })
  .openapi("Error");

const errorResponse = (description: string) => ({
  content: { "application/json": { schema: ErrorSchema } },
  description,
});

/** The error answers every authenticated route can give. */
export const commonErrors = {
  400: errorResponse("Invalid input"),
  401: errorResponse("Not logged in"),
  404: errorResponse("Not found"),
  503: errorResponse("Engine unreachable"),
} as const;

export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { content: { "application/json": { schema } }, required: true },
});

export const jsonResponse = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { "application/json": { schema } },
  description,
});

export const UserSchema = z
  .object({
    id: z.number(),
    username: z.string(),
    role: z.enum(["admin", "operator", "viewer"]),
    created_at: z.number(),
  })
  .openapi("User");

export const Credentials = z
  .object({
    username: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, _ . - only"),
    password: z.string().min(8, "at least 8 characters").max(256),
  })
  .openapi("Credentials");

export const EnvParam = z.object({ env: z.string().min(1).max(64) });

/** Query flags: "1", "true" and "yes" are true; anything else given is false. */
export const queryFlag = z
  .enum(["1", "0", "true", "false", "yes", "no"])
  .optional()
  .transform((v) => v === "1" || v === "true" || v === "yes");
