import type { Hono } from "hono";
import * as z from "zod/mini";
import type { Action, RoutePolicy } from "../auth/actions.ts";
import { parseStrictJson, StrictJsonError } from "../safety/strict-json.ts";
import type { AppContext, AppEnv } from "./context.ts";
import { ApiError } from "./errors.ts";
import { describeIssues } from "./schemas.ts";

type Schema = z.ZodMiniType;
type Out<S> = S extends Schema ? z.output<S> : undefined;

export interface RouteSpec<
  P extends Schema | undefined,
  Q extends Schema | undefined,
  B extends Schema | undefined,
> {
  method: "get" | "post" | "put" | "patch" | "delete";
  /** OpenAPI style: /api/v1/envs/{env}/containers */
  path: string;
  summary: string;
  tag: string;
  /** "public" (no caller needed) or the action the caller must be allowed (src/auth/actions.ts). */
  policy: RoutePolicy;
  params?: P;
  query?: Q;
  body?: B;
  /**
   * The body is an upload of this content type, streamed to the handler (src/http/upload.ts), up
   * to `maxBytes`: exempt from the small limit JSON bodies have.
   */
  upload?: { contentType: string; maxBytes: number };
  responses: Record<number, string | { description: string; schema: Schema }>;
}

export interface RouteInput<P, Q, B> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
}

export interface RouteInfo {
  method: string;
  path: string;
  policy: RoutePolicy;
}

type AnySpec = RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined>;

/**
 * Every API route, declared once: the declaration validates the request at the edge (path, query
 * and JSON body, each failure a 400 with the reason) and is what /api/openapi.json is made from.
 */
export class RouteTable {
  private readonly specs: AnySpec[] = [];
  private readonly uploads: { method: string; path: RegExp; maxBytes: number }[] = [];

  /** `gate` lets a request through to a non-public route or throws (401, 403). */
  constructor(
    private readonly app: Hono<AppEnv>,
    private readonly gate: (c: AppContext, action: Action) => void,
  ) {}

  add<P extends Schema | undefined, Q extends Schema | undefined, B extends Schema | undefined>(
    spec: RouteSpec<P, Q, B>,
    handler: (c: AppContext, input: RouteInput<P, Q, B>) => Response | Promise<Response>,
  ): void {
    this.specs.push(spec as AnySpec);
    if (spec.upload) {
      // {param} is one path segment; the rest of an API path is literal.
      const pattern = spec.path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{\w+\}/g, "[^/]+");
      this.uploads.push({
        method: spec.method.toUpperCase(),
        path: new RegExp(`^${pattern}$`),
        maxBytes: spec.upload.maxBytes,
      });
    }
    const honoPath = spec.path.replace(/\{(\w+)\}/g, ":$1");
    this.app.on(spec.method.toUpperCase(), honoPath, async (c) => {
      // Before validation: nobody learns what a route takes before they are let in.
      if (spec.policy !== "public") this.gate(c, spec.policy);
      const input = {
        params: spec.params ? check(spec.params, c.req.param(), "path") : undefined,
        query: spec.query ? check(spec.query, queryObject(c), "query") : undefined,
        body: spec.body ? check(spec.body, await readJson(c), "body") : undefined,
      };
      return handler(c, input as RouteInput<P, Q, B>);
    });
  }

  /** The limit of an upload route's body, or undefined when the request is for no upload route. */
  uploadLimit(method: string, path: string): number | undefined {
    return this.uploads.find((u) => u.method === method && u.path.test(path))?.maxBytes;
  }

  /** Every route declared, for the access matrix test and the docs. */
  list(): readonly RouteInfo[] {
    return this.specs;
  }

  openapi(info: { title: string; version: string; description: string }): object {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const s of this.specs) {
      const parameters = [...parametersOf(s.params, "path"), ...parametersOf(s.query, "query")];
      const responses: Record<string, unknown> = {};
      for (const [status, r] of Object.entries(s.responses)) {
        responses[status] =
          typeof r === "string"
            ? { description: r }
            : {
                description: r.description,
                content: { "application/json": { schema: jsonSchema(r.schema, "output") } },
              };
      }
      paths[s.path] ??= {};
      paths[s.path]![s.method] = {
        summary: s.summary,
        tags: [s.tag],
        ...(s.policy === "public" ? { security: [] } : { "x-ghostpanel-action": s.policy }),
        ...(parameters.length ? { parameters } : {}),
        ...(s.upload
          ? {
              requestBody: {
                required: true,
                content: { [s.upload.contentType]: { schema: { type: "string", format: "binary" } } },
              },
            }
          : {}),
        ...(s.body
          ? {
              requestBody: {
                required: true,
                content: { "application/json": { schema: jsonSchema(s.body, "input") } },
              },
            }
          : {}),
        responses,
      };
    }
    return {
      openapi: "3.1.0",
      info,
      security: [{ bearer: [] }, { cookie: [] }],
      components: {
        securitySchemes: {
          bearer: { type: "http", scheme: "bearer" },
          cookie: { type: "apiKey", in: "cookie", name: "gp_session" },
        },
      },
      paths,
    };
  }
}

function check<S extends Schema>(schema: S, value: unknown, where: string): z.output<S> {
  const result = z.safeParse(schema, value);
  if (!result.success)
    throw new ApiError(400, "invalid_request", `${where}: ${describeIssues(result.error.issues)}`);
  return result.data;
}

// A key given once is a string, given several times an array: `?label=a&label=b`.
function queryObject(c: AppContext): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(c.req.queries())) out[k] = v.length === 1 ? v[0]! : v;
  return out;
}

async function readJson(c: AppContext): Promise<unknown> {
  const text = await c.req.text();
  if (!text.trim()) throw new ApiError(400, "invalid_request", "body: a JSON body is required");
  try {
    return parseStrictJson(text);
  } catch (err) {
    if (err instanceof StrictJsonError) throw new ApiError(400, "invalid_request", `body: ${err.message}`);
    throw new ApiError(400, "bad_json", "body: malformed JSON");
  }
}

function jsonSchema(schema: Schema, io: "input" | "output"): object {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
  return rest;
}

function parametersOf(schema: Schema | undefined, where: "path" | "query"): object[] {
  if (!schema) return [];
  const js = jsonSchema(schema, "input") as { properties?: Record<string, object>; required?: string[] };
  return Object.entries(js.properties ?? {}).map(([name, s]) => ({
    name,
    in: where,
    required: where === "path" || (js.required ?? []).includes(name),
    schema: s,
  }));
}
