import type { Duplex } from "node:stream";
import type { EngineFacts } from "../protocol/views.ts";
import type { Capabilities } from "./capabilities.ts";

export type { EngineFacts };

/** How long `get` and `send` wait for an answer unless told otherwise: an engine slower than this has gone. */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * How long a removal may take (a container with its layer and volumes, a volume): the engine deletes
 * every file before it answers, ~8,000 directories a second on the test engine, so a big one takes
 * minutes, far past what a read is given.
 */
export const REMOVAL_TIMEOUT_MS = 120_000;

/** A process to run in a container (Docker's ExecConfig, reduced to what the panel asks for). */
export interface ExecSpec {
  Cmd: string[];
  Env?: string[];
  User?: string;
  /** a terminal and stdin: the caller writes to and reads from `stream` */
  interactive: boolean;
}

export interface ExecSession {
  /** the terminal's bytes both ways (interactive), or nothing to read (detached) */
  stream: Duplex | undefined;
  resize(cols: number, rows: number): Promise<void>;
  /** once it has ended; null when the engine cannot say */
  exitCode(): Promise<number | null>;
}

export interface OpenOptions {
  body?: ReadableStream<Uint8Array> | Uint8Array;
  /** e.g. content-type, X-Registry-Auth */
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface OpenAnswer {
  status: number;
  headers: Headers;
  /** null for HEAD and empty answers */
  body: ReadableStream<Uint8Array> | null;
}

/** A request another thread can make on its own with fetch: the URL and fetch's socket and TLS options. */
export interface DirectRequest {
  url: string;
  unix?: string;
  tls?: { ca?: string; cert?: string; key?: string };
}

/**
 * An engine as the rest of the panel sees it: the Docker Engine API's paths and JSON, whatever
 * carries them. The Docker-over-HTTP client (docker-http.ts) is the first implementation; an agent
 * tunnel is a second, and tests drive a fake one. Every failure is an EngineError.
 */
export interface Engine {
  /** Its files are this machine's (a local socket): host paths and cgroups can be read here. */
  readonly local: boolean;
  readonly facts: EngineFacts | undefined;
  readonly capabilities: Capabilities | undefined;
  /** (Re)connects: reads what the engine is and can do. */
  connect(): Promise<void>;
  /** Whether it still answers at all. */
  ping(signal?: AbortSignal): Promise<void>;
  /** GET of a JSON answer, e.g. `/containers/json?all=1`. */
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
  /** A change, with a JSON body the panel made (never a caller's object); the JSON answer, if any. */
  send<T = unknown>(
    method: "POST" | "PUT" | "DELETE",
    path: string,
    options?: { body?: unknown; timeoutMs?: number },
  ): Promise<T | undefined>;
  /** GET of a streamed answer (events, followed logs and stats): the body as it arrives. */
  stream(path: string, signal?: AbortSignal): Promise<ReadableStream<Uint8Array>>;
  /**
   * Any call whose body or answer is bytes in flight — a pull's progress, a build context, an
   * image export, a volume's tar: what the caller streams in, the answer as it arrives, with no
   * idle timeout (a pull can be silent for a while). A status of 400 or more is an EngineError.
   */
  open(method: "GET" | "HEAD" | "POST" | "PUT", path: string, options?: OpenOptions): Promise<OpenAnswer>;
  /** Starts a process in a running container. */
  exec(container: string, spec: ExecSpec): Promise<ExecSession>;
  /**
   * The main process's own stdin and output (Docker's attach), not a new process. Ending the
   * session detaches; it stops nothing. Engines without it leave it out.
   */
  attach?(container: string): Promise<ExecSession>;
  /**
   * How another thread reaches `path` itself (src/volumes/archive-thread.ts): undefined when the
   * engine is reached only through this object (an agent's tunnel). Engines without it leave it out.
   */
  direct?(path: string): DirectRequest | undefined;
}
