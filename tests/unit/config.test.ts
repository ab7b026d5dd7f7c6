import { describe, expect, it } from "vitest";
import { parseServeArgs } from "../../src/server/config.ts";

describe("serve options", () => {
  it("defaults to 0.0.0.0:9443 with a self-signed certificate and the local socket", () => {
    const c = parseServeArgs([], {});
    expect(c).toMatchObject({
      host: "0.0.0.0",
      port: 9443,
      tls: { mode: "auto" },
      engineUrl: "unix:///var/run/docker.sock",
    });
  });

  it("takes flags over environment variables, and DOCKER_HOST as the engine's default", () => {
    const env = {
      GHOSTPANEL_LISTEN: "127.0.0.1:1",
      GHOSTPANEL_TLS: "off",
      DOCKER_HOST: "tcp://127.0.0.1:2375",
    };
    expect(parseServeArgs([], env)).toMatchObject({
      host: "127.0.0.1",
      port: 1,
      tls: { mode: "off" },
      engineUrl: "tcp://127.0.0.1:2375",
    });
    const c = parseServeArgs(
      ["--listen=[::1]:8080", "--tls", "a.pem,b.pem", "--engine", "unix:///x.sock"],
      env,
    );
    expect(c).toMatchObject({ host: "::1", port: 8080, engineUrl: "unix:///x.sock" });
    expect(c.tls).toMatchObject({ mode: "files" });
  });

  it("takes --listen-http, or GHOSTPANEL_LISTEN_HTTP, for the redirect to HTTPS", () => {
    expect(parseServeArgs([], {}).listenHttp).toBeUndefined();
    expect(parseServeArgs(["--listen-http", "0.0.0.0:80"], {}).listenHttp).toEqual({
      host: "0.0.0.0",
      port: 80,
    });
    expect(parseServeArgs(["--listen-http=[::]:8080", "--tls", "a.pem,b.pem"], {}).listenHttp).toEqual({
      host: "::",
      port: 8080,
    });
    expect(parseServeArgs([], { GHOSTPANEL_LISTEN_HTTP: ":80" }).listenHttp).toEqual({
      host: "0.0.0.0",
      port: 80,
    });
    expect(
      parseServeArgs(["--listen-http", "127.0.0.1:81"], { GHOSTPANEL_LISTEN_HTTP: ":80" }).listenHttp,
    ).toEqual({
      host: "127.0.0.1",
      port: 81,
    });
  });

  it("refuses --listen-http without TLS, or without a port", () => {
    expect(() => parseServeArgs(["--listen-http", ":80", "--tls", "off"], {})).toThrow(
      "--listen-http redirects plain HTTP to HTTPS, so it needs TLS: use --tls auto or --tls CERT,KEY, or leave --listen-http out",
    );
    expect(() => parseServeArgs([], { GHOSTPANEL_LISTEN_HTTP: ":80", GHOSTPANEL_TLS: "off" })).toThrow(
      /needs TLS/,
    );
    expect(() => parseServeArgs(["--listen-http", "80"], {})).toThrow(
      "--listen-http 80: expected HOST:PORT, e.g. 0.0.0.0:80",
    );
  });

  it("refuses bad options with a message", () => {
    expect(() => parseServeArgs(["--listen", "9443"], {})).toThrow(/HOST:PORT/);
    expect(() => parseServeArgs(["--listen", "x:99999"], {})).toThrow(/HOST:PORT/);
    expect(() => parseServeArgs(["--tls", "maybe"], {})).toThrow(/off, auto or CERT,KEY/);
    expect(() => parseServeArgs(["--frobnicate"], {})).toThrow(/unknown option/);
    expect(() => parseServeArgs(["--data"], {})).toThrow(/needs a value/);
  });

  it("takes --anonymous-limit, or GHOSTPANEL_ANONYMOUS_LIMIT: 60 a minute unless told, 0 for none", () => {
    expect(parseServeArgs([], {}).anonymousLimit).toBe(60);
    expect(parseServeArgs(["--anonymous-limit", "0"], {}).anonymousLimit).toBe(0);
    expect(parseServeArgs([], { GHOSTPANEL_ANONYMOUS_LIMIT: "600" }).anonymousLimit).toBe(600);
    expect(() => parseServeArgs(["--anonymous-limit", "-1"], {})).toThrow(/a whole number/);
    expect(() => parseServeArgs(["--anonymous-limit", "1.5"], {})).toThrow(/a whole number/);
  });
});
