import { Duplex } from "node:stream";

/** Docker's frame header on a connection without a TTY: stream id, three zero bytes, a 32-bit length. */
const HEADER = 8;

/**
 * An attached non-TTY container's connection as a terminal sees it: writes go to its stdin, reads
 * are its stdout and stderr merged (as `docker attach` prints them), the engine's frame headers
 * taken off. Closing either side closes the other.
 */
export function mergedOutput(raw: Duplex): Duplex {
  let pending: Buffer = Buffer.alloc(0);
  const duplex = new Duplex({
    read() {},
    write(chunk, _encoding, done) {
      raw.write(chunk, done);
    },
    destroy(err, done) {
      raw.destroy();
      done(err);
    },
  });
  raw.on("data", (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= HEADER) {
      const size = pending.readUInt32BE(4);
      if (pending.length < HEADER + size) break;
      duplex.push(pending.subarray(HEADER, HEADER + size));
      pending = pending.subarray(HEADER + size);
    }
  });
  raw.once("close", () => duplex.destroy());
  raw.on("error", () => duplex.destroy());
  return duplex;
}
