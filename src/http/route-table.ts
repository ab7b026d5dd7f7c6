import type { Hono } from "hono";
import * as z from "zod/mini";
import type { Action, RoutePolicy } from "../auth/actions.ts";
import { parseStrictJson, StrictJsonError } from "../safety/strict-json.ts";
import type { AppContext, AppEnv } from "./context.ts";
import { ApiError } from "./errors.ts";
import { allowAnyEngineCall } from "./long-request.ts";
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

/** A route as declared before its module is loaded (src/server/routes.generated.ts). */
export interface RouteEntry extends RouteInfo {
  /** an upload route's body limit, bytes */
  upload?: number;
}

type AnySpec = RouteSpec<Schema | undefined, Schema | undefined, Schema | undefined>;
type Handler = (c: AppContext) => Promise<Response>;

/**
 * Every API route, declared once: the declaration validates the request at the edge (path, query
 * and JSON body, each failure a 400 with the reason) and is what /api/openapi.json is made from.
 */
export class RouteTable {
  /** the specs of the modules loaded so far, for /api/openapi.json */
  private readonly specs: AnySpec[] = [];
  private readonly declared: RouteEntry[] = [];
  private readonly uploads: { method: string; path: RegExp; maxBytes: number }[] = [];
  private readonly loads: (() => Promise<unknown>)[] = [];

  /**
   * `gate` lets a request through to a non-public route or throws (401, 403). A table given `into`
   * only collects the handlers of one module loaded on first use (lazy()), keyed "METHOD path".
   */
  constructor(
    private readonly app: Hono<AppEnv>,
    private readonly gate: (c: AppContext, action: Action) => void,
    private readonly into?: Map<string, Handler>,
  ) {}

  add<P extends Schema | undefined, Q extends Schema | undefined, B extends Schema | undefined>(
    spec: RouteSpec<P, Q, B>,
    handler: (c: AppContext, input: RouteInput<P, Q, B>) => Response | Promise<Response>,
  ): void {
    this.specs.push(spec as AnySpec);
    const run: Handler = async (c) => {
      // Before validation: nobody learns what a route takes before they are let in.
      if (spec.policy !== "public") {
        this.gate(c, spec.policy);
        // Before any engine call, not after the first: a busy engine can keep a stop's first
        // question, or a read, silent past Bun's 10 s, and the cut reaches the caller as a reset.
        allowAnyEngineCall(c);
      }
      const input = {
        params: spec.params ? check(spec.params, c.req.param(), "path") : undefined,
        query: spec.query ? check(spec.query, queryObject(c), "query") : undefined,
        body: spec.body ? check(spec.body, await readJson(c), "body") : undefined,
      };
      return handler(c, input as RouteInput<P, Q, B>);
    };
    if (this.into) {
      this.into.set(keyOf(spec), run);
      return;
    }
    this.declare({ ...spec, upload: spec.upload?.maxBytes });
    this.app.on(spec.method.toUpperCase(), honoPath(spec.path), run);
  }

  /**
   * A module's routes, declared now from `entries` (method, path, policy and upload limit: what the
   * middleware, the access matrix and Hono's route order need) and loaded on their first request:
   * an idle panel does not hold every route's schemas and handlers (docs/decisions.md, "Route
   * modules loaded on first use"). `load` registers the module's routes on the table it is given.
   */
  lazy(entries: readonly RouteEntry[], load: (routes: RouteTable) => Promise<void>): void {
    let handlers: Promise<Map<string, Handler>> | undefined;
    const loadOnce = () =>
      (handlers ??= (async () => {
        const into = new Map<string, Handler>();
        const table = new RouteTable(this.app, this.gate, into);
        await load(table);
        this.specs.push(...table.specs);
        return into;
      })());
    this.loads.push(loadOnce);
    for (const entry of entries) {
      this.declare(entry);
      const key = keyOf(entry);
      this.app.on(entry.method.toUpperCase(), honoPath(entry.path), async (c) => {
        const run = (await loadOnce()).get(key);
        // The manifest is checked against the modules (tests/unit/route-manifest.test.ts).
        if (!run) throw new Error(`${key} is declared but its module has no such route`);
        return run(c);
      });
    }
  }

  /** Every module loaded, for what needs all the specs (the OpenAPI document). */
  async loadAll(): Promise<void> {
    await Promise.all(this.loads.map((load) => load()));
  }

  /** The limit of an upload route's body, or undefined when the request is for no upload route. */
  uploadLimit(method: string, path: string): number | undefined {
    return this.uploads.find((u) => u.method === method && u.path.test(path))?.maxBytes;
  }

  /** Every route declared, loaded or not, for the middleware, the access matrix test and the docs. */
  list(): readonly RouteEntry[] {
    return this.declared;
  }

  private declare(entry: RouteEntry): void {
    const { method, path, policy, upload } = entry;
    this.declared.push(upload === undefined ? { method, path, policy } : { method, path, policy, upload });
    if (upload === undefined) return;
    // {param} is one path segment; the rest of an API path is literal.
    const pattern = path.replace(/[.*+?^$()|[\]\\]/g, "\\$&").replace(/\{\w+\}/g, "[^/]+");
    this.uploads.push({ method: method.toUpperCase(), path: new RegExp(`^${pattern}$`), maxBytes: upload });
  }

  /** The document of every route, in the order they were declared (call loadAll() first). */
  openapi(info: { title: string; version: string; description: string }): object {
    const paths: Record<string, Record<string, unknown>> = {};
    const order = new Map(this.declared.map((r, i) => [keyOf(r), i]));
    const specs = [...this.specs].sort((a, b) => (order.get(keyOf(a)) ?? 0) - (order.get(keyOf(b)) ?? 0));
    for (const s of specs) {
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

function keyOf(route: { method: string; path: string }): string {
  return `${route.method.toUpperCase()} ${route.path}`;
}

/** OpenAPI's {param} as Hono's :param. */
function honoPath(path: string): string {
  return path.replace(/\{(\w+)\}/g, ":$1");
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
