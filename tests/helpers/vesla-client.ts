import * as z from "zod/mini";

/**
 * A client of the Vesla Console's API written from the seed alone (its README and app.py's
 * answers), knowing nothing of GhostPanel: every answer is parsed strictly against the seed's
 * shapes, so an extra or missing field fails the test that made the call.
 */
const App = z.strictObject({
  id: z.string().check(z.regex(/^[0-9a-f]{12}$/)),
  name: z.string(),
  status: z.string(),
  image: z.string(),
  created: z.string().check(z.regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)),
  started: z.string(),
  ports: z.record(
    z.string(),
    z.nullable(z.array(z.strictObject({ HostIp: z.string(), HostPort: z.string() }))),
  ),
  labels: z.record(z.string(), z.string()),
  is_running: z.boolean(),
});
const Apps = z.strictObject({ apps: z.array(App), system: z.array(App), total: z.number() });
const Health = z.strictObject({ status: z.string(), service: z.string(), docker_connected: z.boolean() });
const Logs = z.strictObject({ container: z.string(), logs: z.string(), lines: z.number() });
const Figures = z.strictObject({
  container: z.string(),
  cpu_percent: z.number(),
  memory_usage: z.number(),
  memory_limit: z.number(),
  memory_percent: z.number(),
  pids: z.number(),
});
const NotRunning = z.strictObject({ container: z.string(), status: z.string(), stats: z.null() });
const ActionDone = z.strictObject({ status: z.literal("success"), message: z.string() });
// The seed's errors are a message string; GhostPanel may add its code beside it.
const ErrorAnswer = z.object({ error: z.string() });

export type VeslaApp = z.infer<typeof App>;

export class VeslaError extends Error {
  constructor(
    readonly status: number,
    readonly body: z.infer<typeof ErrorAnswer>,
  ) {
    super(`${status}: ${body.error}`);
  }
}

export class VeslaClient {
  constructor(
    private readonly base: string,
    private readonly token?: string,
  ) {}

  health() {
    return this.call("GET", "/health", Health);
  }
  apps() {
    return this.call("GET", "/api/apps", Apps);
  }
  logs(name: string, tail = 100) {
    return this.call("GET", `/api/apps/${name}/logs?tail=${tail}`, Logs);
  }
  stats(name: string) {
    return this.call("GET", `/api/apps/${name}/stats`, z.union([Figures, NotRunning]));
  }
  action(name: string, action: string) {
    return this.call("POST", `/api/apps/${name}/action`, ActionDone, { action });
  }

  private async call<S extends z.ZodMiniType>(method: string, path: string, shape: S, body?: unknown) {
    const headers: Record<string, string> = {};
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new VeslaError(res.status, z.parse(ErrorAnswer, json));
    return z.parse(shape, json) as z.output<S>;
  }
}
