import { describe, expect, it } from "vitest";
import { httpsLocation } from "../../src/server/https-redirect.ts";

const req = (url: string, host?: string) => new Request(url, { headers: host === undefined ? {} : { host } });

describe("httpsLocation", () => {
  it("keeps the host name, path and query, and puts the HTTPS port in", () => {
    expect(
      httpsLocation(req("http://panel.example/a/b?c=1&d", "panel.example:8080"), 9443, "localhost"),
    ).toBe("https://panel.example:9443/a/b?c=1&d");
    expect(httpsLocation(req("http://[::1]/", "[::1]:80"), 9443, "localhost")).toBe("https://[::1]:9443/");
    expect(httpsLocation(req("http://10.0.0.2/x", "10.0.0.2"), 443, "localhost")).toBe("https://10.0.0.2/x");
  });

  it("sends a Host it cannot trust as a name to the panel's own name instead", () => {
    expect(httpsLocation(req("http://x/p?q", "evil.example/phish"), 9443, "panel")).toBe(
      "https://panel:9443/p?q",
    );
    expect(httpsLocation(req("http://x/p", "user@evil.example"), 9443, "panel")).toBe("https://panel:9443/p");
    expect(httpsLocation(req("http://x/p"), 9443, "[::1]")).toBe("https://[::1]:9443/p");
  });
});
