/**
 * The cgroup reader's thread (src/stats/worker-source.ts starts it): it owns one CgroupSource and
 * answers each `read` with every target's figures packed into one transferred Float64Array, so the
 * panel's main thread spends no time in the kernel's files.
 */
import { CgroupSource, type CgroupSourceOptions } from "./cgroup-source.ts";
import { packSamples, type ReadReply, type ReadRequest } from "./worker-protocol.ts";

declare const self: Worker;

let source: CgroupSource | undefined;

self.onmessage = (event: MessageEvent<ReadRequest | { close: true }>) => {
  const msg = event.data;
  if ("close" in msg) {
    source?.close();
    source = undefined;
    return;
  }
  source ??= new CgroupSource(msg.options as CgroupSourceOptions);
  const samples = source.readNow(msg.targets);
  const reply: ReadReply = { seq: msg.seq, values: packSamples(msg.targets, samples) };
  self.postMessage(reply, [reply.values.buffer]);
};
