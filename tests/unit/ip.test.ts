import { isIP as nodeIsIP } from "node:net";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isIP } from "../../src/safety/ip.ts";

// src/safety/ip.ts stands in for node:net's isIP so that an idle panel does not load node:net: it
// must answer exactly as node:net does, on addresses and on everything near one.
const near = fc
  .array(fc.constantFrom(..."0123456789abcdefABCDEFg.:%-x ".split("")), { maxLength: 45 })
  .map((chars) => chars.join(""));
const zoned = fc.tuple(fc.ipV6(), fc.string({ maxLength: 6 })).map(([ip, zone]) => `${ip}%${zone}`);

describe("isIP", () => {
  it("answers as node:net's isIP", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), near, fc.ipV4(), fc.ipV4Extended(), fc.ipV6(), zoned), (s) => {
        expect(isIP(s)).toBe(nodeIsIP(s));
      }),
      { numRuns: 20_000 },
    );
  });

  it("tells the families apart, leading zeros and zones as node:net does", () => {
    const cases = [
      "1.2.3.4",
      "01.2.3.4",
      "1.2.3",
      "256.1.1.1",
      "::",
      "::ffff:1.2.3.4",
      "fe80::1%eth0",
      "1::2::3",
      "",
    ];
    expect(cases.map(isIP)).toEqual([4, 0, 0, 0, 6, 6, 6, 0, 0]);
    expect(cases.map(isIP)).toEqual(cases.map(nodeIsIP));
  });
});
