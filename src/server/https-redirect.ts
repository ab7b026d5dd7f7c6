import type { Server } from "bun";

// A name or an IPv4 address, or an IPv6 one in brackets, and maybe a port: anything else in Host
// (a path, user info) must not end up in a Location that sends the browser elsewhere.
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::\d{1,5})?$/;

/**
 * Where a plain-HTTP request belongs: the same host name on the HTTPS port, path and query kept.
 * `fallbackHost` serves requests whose Host header is missing or unusable.
 */
export function httpsLocation(req: Request, httpsPort: number, fallbackHost: string): string {
  const name = HOST.exec(req.headers.get("host") ?? "")?.[1] ?? fallbackHost;
  // Bun's req.url is absolute when Host parses as a URL authority and just the path otherwise.
  const path = req.url.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, "") || "/";
  return `https://${name}${httpsPort === 443 ? "" : `:${httpsPort}`}${path}`;
}

/**
 * The plain-HTTP listener: every request, /healthz included, gets a 308 to HTTPS. Nothing is
 * answered in clear text, so nothing said there can be altered on the way (the fingerprint in
 * /healthz least of all), and health checks that count a 3xx as up (Kubernetes HTTP probes,
 * `curl -f`) pass there anyway.
 */
export function serveHttpsRedirect(
  hostname: string,
  port: number,
  httpsPort: number,
  fallbackHost: string,
): Server<undefined> {
  return Bun.serve({
    hostname,
    port,
    fetch: (req) =>
      new Response(null, { status: 308, headers: { location: httpsLocation(req, httpsPort, fallbackHost) } }),
  });
}
