import { describe, expect, it } from "vitest";
import { decodeJoinToken, encodeJoinToken } from "../../src/agent/join-token.ts";
import { encodeFrame, FrameReader, WireError } from "../../src/agent/wire.ts";

/** A QUIC stream's readable side as node:quic gives it: batches of chunks. */
async function* batches(...bytes: Uint8Array[][]): AsyncGenerator<Uint8Array[]> {
  for (const b of bytes) yield b;
}

const split = (b: Uint8Array, at: number[]) => {
  const out: Uint8Array[] = [];
  let from = 0;
  for (const to of [...at, b.length]) {
    out.push(b.subarray(from, to));
    from = to;
  }
  return out;
};

describe("agent link framing", () => {
  it("reads frames cut anywhere across chunks and batches, then the body after them", async () => {
    const bytes = new Uint8Array([
      ...encodeFrame({ method: "GET", path: "/a" }),
      ...encodeFrame({ t: "x" }),
      ...new TextEncoder().encode("body bytes"),
    ]);
    for (const cuts of [[1], [2, 3, 5], [4], [30, 31], [bytes.length - 3]]) {
      const parts = split(bytes, cuts);
      const reader = new FrameReader(batches(...parts.map((p) => [p])));
      expect(await reader.frame()).toEqual({ method: "GET", path: "/a" });
      expect(await reader.frame()).toEqual({ t: "x" });
      expect(await new Response(reader.rest(() => {})).text()).toBe("body bytes");
    }
  });

  it("ends cleanly between frames, and refuses a stream cut inside one or an oversized frame", async () => {
    expect(await new FrameReader(batches()).frame()).toBeUndefined();
    const frame = encodeFrame({ t: "x" });
    await expect(new FrameReader(batches([frame.subarray(0, 6)])).frame()).rejects.toThrow(WireError);
    const huge = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
    await expect(new FrameReader(batches([huge])).frame()).rejects.toThrow(/over the limit/);
    const notJson = new Uint8Array([0, 0, 0, 2, 0x7b, 0x7b]);
    await expect(new FrameReader(batches([notJson])).frame()).rejects.toThrow(/not JSON/);
  });
});

describe("join tokens", () => {
  const fingerprint = Array.from({ length: 32 }, (_, i) =>
    i.toString(16).padStart(2, "0").toUpperCase(),
  ).join(":");

  it("round-trips the secret, the fingerprint and the address", () => {
    const t = { secret: "s3cret", fingerprint, address: "127.0.0.1:9444" };
    expect(decodeJoinToken(encodeJoinToken(t))).toEqual(t);
  });

  it("refuses what is not a token, or a token whose fingerprint is malformed", () => {
    expect(() => decodeJoinToken("gpj1.not-base64-json")).toThrow(/not a GhostPanel join token/);
    expect(() => decodeJoinToken("hello")).toThrow(/not a GhostPanel join token/);
    const bad = encodeJoinToken({ secret: "s", fingerprint: "AB:CD", address: "h:1" });
    expect(() => decodeJoinToken(bad)).toThrow(/fingerprint is malformed/);
  });
});
