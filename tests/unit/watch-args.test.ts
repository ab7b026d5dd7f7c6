import { describe, expect, it } from "vitest";
import { parseWatchArgs } from "../../src/watch/run.ts";

const parse = (...args: string[]) => parseWatchArgs(["--panel", "https://panel.example:9443", ...args], {});
const FP = Array.from({ length: 32 }, (_, i) => i.toString(16).padStart(2, "0")).join(":");

describe("ghostpanel watch's options", () => {
  it("tries QUIC, then the WebSocket, unless told a transport, and for QUIC where and what to pin", () => {
    expect(parse("--token", "t").via).toBe("auto");
    expect(parse("--token", "t", "--via", "ws").via).toBe("ws");
    expect(parse("--token", "t", "--via", "quic").via).toBe("quic");
    const c = parse("--token", "t", "--quic", "[::1]:9444", "--fingerprint", FP);
    expect(c.quic).toEqual({ host: "::1", port: 9444 });
    expect(c.fingerprint).toBe(FP.toUpperCase());
    expect(parse("--token", "t", "--quic", "relay.example:7000").quic).toEqual({
      host: "relay.example",
      port: 7000,
    });
  });

  it("says in words what is wrong with them", () => {
    expect(() => parse("--token", "t", "--via", "udp")).toThrow("--via udp: auto, quic, ws or h3");
    expect(() => parse("--token", "t", "--quic", "nowhere")).toThrow("--quic nowhere: HOST:PORT");
    expect(() => parse("--token", "t", "--quic", "h:70000")).toThrow("HOST:PORT");
    expect(() => parse("--token", "t", "--fingerprint", "AB:CD")).toThrow("32 hex pairs");
    expect(() => parse("--token", "t", "--via", "ws", "--quic", "h:1")).toThrow("not --via ws");
    expect(() => parse("--token", "t", "--via", "h3", "--insecure", "--fingerprint", FP)).toThrow(
      "not --via h3",
    );
  });
});
