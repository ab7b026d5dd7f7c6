import * as z from "zod/mini";
import en from "zod/v4/locales/en.js";

// zod/mini ships without messages: the English ones make "Too small: expected string to have
// >=8 characters" out of a bare "Invalid input" for the UI to show.
z.config(en());

export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
}

export const ErrorSchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export const errorResponse = (description: string) => ({ description, schema: ErrorSchema });

/** The error answers every authenticated route can give. */
export const commonErrors = {
  400: errorResponse("Invalid input"),
  401: errorResponse("Not logged in"),
  404: errorResponse("Not found"),
  503: errorResponse("Engine unreachable"),
} as const;

export const json = (schema: z.ZodMiniType, description: string) => ({ description, schema });

export const UserSchema = z.object({
  id: z.number(),
  username: z.string(),
  role: z.enum(["admin", "operator", "viewer"]),
  created_at: z.number(),
});

export const Username = z
  .string()
  .check(z.minLength(1), z.maxLength(64), z.regex(/^[A-Za-z0-9_.-]+$/, "letters, digits, _ . - only"));

export const Password = z.string().check(z.minLength(8, "at least 8 characters"), z.maxLength(256));

export const Credentials = z.object({ username: Username, password: Password });

export const EnvParam = z.object({ env: z.string().check(z.minLength(1), z.maxLength(64)) });

/** Query flags: "1", "true" and "yes" are true; anything else given is false. */
export const queryFlag = z.pipe(
  z.optional(z.enum(["1", "0", "true", "false", "yes", "no"])),
  z.transform((v) => v === "1" || v === "true" || v === "yes"),
);
