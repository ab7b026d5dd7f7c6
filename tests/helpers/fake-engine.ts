import type { Capabilities } from "../../src/engine/capabilities.ts";
import { capabilitiesOf } from "../../src/engine/capabilities.ts";
import type { Engine, EngineFacts, ExecSession, ExecSpec, OpenAnswer } from "../../src/engine/engine.ts";
import { EngineError } from "../../src/engine/errors.ts";
import type { ConnectionTiming } from "../../src/envs/connection.ts";

interface FakeContainer {
  Id: string;
  Name: string;
  State: string;
  Labels?: Record<string, string>;
  /** ms an inspect of this container takes to answer */
  inspectDelayMs?: number;
}

/**
 * An engine in memory for unit tests of what sits on the Engine seam: containers the test sets,
 * an /events stream the test writes to, a switch that takes the engine away, and a count of calls.
 */
export class FakeEngine implements Engine {
  readonly local = false;
  facts: EngineFacts | undefined;
  capabilities: Capabilities | undefined;
  containers = new Map<string, FakeContainer>();
  /** what /networks answers, as the engine lists them */
  networks: { Id: string; Name: string; Labels?: Record<string, string> }[] = [];
  calls: string[] = [];
  up = true;
  private events: ReadableStreamDefaultController<Uint8Array> | undefined;

  async connect(): Promise<void> {
    this.calls.push("connect");
    if (!this.up) throw new EngineError(0, "engine unreachable: fake is down");
    this.capabilities = capabilitiesOf("docker", false);
    this.facts = {
      kind: "docker",
      version: "fake",
      api_version: "1.41",
      os: "linux",
      arch: "amd64",
      hostname: "fake",
      ncpu: 1,
      mem_total: 1,
    };
  }

  async ping(): Promise<void> {
    if (!this.up) throw new EngineError(0, "engine unreachable: fake is down");
  }

  async get<T>(path: string): Promise<T> {
    this.calls.push(`GET ${path}`);
    if (!this.up) throw new EngineError(0, "engine unreachable: fake is down");
    if (path.startsWith("/containers/json")) {
      return [...this.containers.values()].map((c) => ({
        Id: c.Id,
        Names: [`/${c.Name}`],
        State: c.State,
        Status: c.State,
        Image: "img",
        Labels: c.Labels ?? {},
        Created: 0,
      })) as T;
    }
    const m = /^\/containers\/([^/]+)\/json$/.exec(path);
    if (m) {
      const c = this.containers.get(m[1]!);
      if (!c) throw new EngineError(404, `No such container: ${m[1]}`);
      // What the engine had when it read it, whatever happens while the answer travels.
      const answer = {
        Id: c.Id,
        Name: `/${c.Name}`,
        Config: { Image: "img", Labels: c.Labels ?? {}, Cmd: ["sleep"], Tty: false },
        State: { Status: c.State, Pid: 0, StartedAt: "", FinishedAt: "", ExitCode: 0 },
        Image: "sha256:0",
        Created: new Date(0).toISOString(),
        NetworkSettings: { Ports: {}, Networks: {} },
      };
      if (c.inspectDelayMs) await Bun.sleep(c.inspectDelayMs);
      return answer as T;
    }
    if (path === "/networks")
      return this.networks.map((n) => ({ Driver: "bridge", Scope: "local", ...n })) as T;
    throw new EngineError(404, `fake has no ${path}`);
  }

  async send<T>(method: string, path: string): Promise<T | undefined> {
    this.calls.push(`${method} ${path}`);
    return undefined;
  }

  async stream(path: string): Promise<ReadableStream<Uint8Array>> {
    this.calls.push(`STREAM ${path}`);
    if (!this.up) throw new EngineError(0, "engine unreachable: fake is down");
    return new ReadableStream({
      start: (controller) => {
        this.events = controller;
      },
    });
  }

  async open(method: string, path: string): Promise<OpenAnswer> {
    this.calls.push(`OPEN ${method} ${path}`);
    throw new EngineError(501, "the fake engine streams nothing");
  }

  async exec(_container: string, _spec: ExecSpec): Promise<ExecSession> {
    throw new EngineError(501, "the fake engine runs nothing");
  }

  /** One event on the open /events stream, as the engine writes it. */
  emit(event: { Type?: string; Action: string; id: string }): void {
    const line = `${JSON.stringify({ Type: event.Type ?? "container", Action: event.Action, Actor: { ID: event.id } })}\n`;
    this.events?.enqueue(new TextEncoder().encode(line));
  }

  /** Any event, whole (attributes and all), on the open /events stream. */
  emitEvent(event: object): void {
    this.events?.enqueue(new TextEncoder().encode(`${JSON.stringify(event)}\n`));
  }

  /** Takes the engine away: the event stream breaks and every call fails until `restore`. */
  drop(): void {
    this.up = false;
    this.events?.error(new EngineError(0, "engine unreachable: connection reset"));
    this.events = undefined;
  }

  restore(): void {
    this.up = true;
  }

  inspects(): number {
    return this.calls.filter((c) => /^GET \/containers\/[^/]+\/json$/.test(c) && !c.includes("/json?"))
      .length;
  }
}

/** Fast timers, so that reconnects and reconciles happen within a test. */
export const FAST_TIMING: ConnectionTiming = {
  backoffMinMs: 10,
  backoffMaxMs: 40,
  heartbeatMs: 60_000,
  heartbeatTimeoutMs: 1_000,
  reconcileMs: 60_000,
  pollMs: 20,
};

/** Resolves once `check` holds, polling on the event loop (no fixed sleeps); fails after `ms`. */
export async function until(check: () => boolean, ms = 2_000, what = "condition"): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}
