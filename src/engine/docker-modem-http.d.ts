// docker-modem's redirect-following wrapper of Node's http and https (see stopFollowingRedirects).
declare module "docker-modem/lib/http.js" {
  const modemHttp: Record<"http" | "https", { request: unknown; get: unknown }>;
  export = modemHttp;
}
