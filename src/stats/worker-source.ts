import { CgroupSource, type CgroupSourceOptions } from "./cgroup-source.ts";
import type { RawSample, StatsSource, StatsTarget } from "./sample.ts";
import { type ReadReply, unpackSamples } from "./worker-protocol.ts";

/** A read the worker has not answered in this long is given up (the tick is skipped, not stuck). */
const READ_TIMEOUT_MS = 10_000;

/**
 * Where the worker's code is: beside this file when run from source, and under the executable's own
 * file system, by its path in the repository, when compiled (build.ts adds it as an entry point).
 */
function workerUrl(): string {
  const compiled = import.meta.url.includes("$bunfs") || Bun.main.includes("$bunfs");
  return compiled ? "./src/stats/cgroup-worker.ts" : new URL("./cgroup-worker.ts", import.meta.url).href;
}

/**
 * The cgroup files read on a thread of their own (src/stats/cgroup-worker.ts): at 1,000 containers a
 * tick is some 3,000–7,000 small reads, tens of ms the main thread would otherwise spend blocked
 * while requests and frames wait. The main thread only posts the targets and unpacks one array.
 * Should the thread fail to start or die, reads carry on synchronously here.
 */
export class WorkerCgroupSource implements StatsSource {
  readonly name = "cgroup" as const;
  private worker: Worker | undefined;
  private fallback: CgroupSource | undefined;
  private seq = 0;
  private pending = new Map<number, { resolve: (r: ReadReply) => void; reject: (e: Error) => void }>();

  constructor(private readonly options: CgroupSourceOptions = {}) {}

  async read(targets: StatsTarget[]): Promise<Map<string, RawSample>> {
    if (targets.length === 0) return new Map();
    const worker = this.fallback ? undefined : this.start();
    if (!worker) {
      this.fallback ??= new CgroupSource(this.options);
      return this.fallback.readNow(targets);
    }
    const seq = ++this.seq;
    const reply = await new Promise<ReadReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`the cgroup reader did not answer within ${READ_TIMEOUT_MS} ms`));
      }, READ_TIMEOUT_MS);
      this.pending.set(seq, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      worker.postMessage({ seq, targets, options: this.options });
    });
    return unpackSamples(targets, reply.values);
  }

  close(): void {
    this.worker?.postMessage({ close: true });
    this.worker?.terminate();
    this.worker = undefined;
    this.fallback?.close();
    this.failAll(new Error("closed"));
  }

  private start(): Worker | undefined {
    if (this.worker) return this.worker;
    try {
      // smol: the reader needs a small heap, and every MiB of it is resident memory.
      const worker = new Worker(workerUrl(), { smol: true } as WorkerOptions);
      // The reader never keeps the panel alive on its own.
      (worker as unknown as { unref(): void }).unref();
      worker.onmessage = (e: MessageEvent<ReadReply>) => {
        const p = this.pending.get(e.data.seq);
        this.pending.delete(e.data.seq);
        p?.resolve(e.data);
      };
      worker.onerror = (e) => this.died(new Error(`cgroup reader failed: ${e.message}`));
      this.worker = worker;
      return worker;
    } catch (err) {
      this.died(err as Error);
      return undefined;
    }
  }

  private died(err: Error): void {
    console.error(`ghostpanel: ${err.message}; reading cgroup files on the main thread instead`);
    this.worker?.terminate();
    this.worker = undefined;
    this.fallback ??= new CgroupSource(this.options);
    this.failAll(err);
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
