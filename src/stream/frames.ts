// The "pack" entry is msgpackr's pure-JS build: the package root would also load its native
// extractor, which costs ~9 MB of resident memory in the compiled binary for no gain here.
import { Packr } from "msgpackr/pack";

// Plain msgpack (no records, no extensions) so that any msgpack decoder reads our frames.
const packr = new Packr({ useRecords: false, moreTypes: false });

export interface Message {
  k: string;
  d?: unknown;
}

export function encodeFrame(topic: string, message: Message): Uint8Array {
  return packr.pack({ t: topic, k: message.k, d: message.d });
}

export function decodeClientMessage(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}
