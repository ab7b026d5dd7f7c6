import { ApiError } from "../http/errors.ts";
import { checkFetchable, RegistryAddressError } from "./address.ts";

export interface RegistryLogin {
  username: string;
  password: string;
}

/** A registry's own failure, as the API answers it: the message is the caller's to read. */
export class RegistryError extends ApiError {}

const refused = (detail: string) =>
  new RegistryError(400, "registry_login_refused", `the registry refused the login (${detail})`);

/** Every call to a registry ends within this, answered or not. */
const TIMEOUT_MS = 10_000;
/** Catalog pages, tag lists and token answers are small: anything larger is not read. */
export const MAX_BODY = 1024 * 1024;
const MAX_REDIRECTS = 3;
/**
 * The longest one call of a client can go without an answer: the request, a token, the request
 * again, each through at most MAX_REDIRECTS redirects of TIMEOUT_MS each. A route that waits on a
 * call keeps its client's connection that long (src/http/long-request.ts).
 */
export const CALL_BOUND_MS = 3 * (MAX_REDIRECTS + 1) * TIMEOUT_MS;

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="https://auth…",service="registry",scope="repository:x:pull"` → its scheme and params. */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/gy;
  const rest = m[2] ?? "";
  re.lastIndex = 0;
  for (let p = re.exec(rest); p; p = re.exec(rest)) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : (p[3] ?? "");
    if (re.lastIndex >= rest.length) break;
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

export interface RegistryAnswer {
  status: number;
  headers: Headers;
  /** the body's text, at most MAX_BODY bytes; "" for HEAD */
  text: string;
}

/**
 * The registry v2 API, as the panel calls it: one origin, its login (if any), and the two ways a
 * registry asks for it — `WWW-Authenticate: Basic` (the login on every request) and `Bearer`
 * (a token fetched from the realm with the login, for the scope asked, then sent instead). Tokens
 * are kept per scope until they expire. Redirects are followed only on the same origin; every call
 * has a timeout and a bounded body.
 */
export class RegistryClient {
  private tokens = new Map<string, { token: string; until: number }>();
  /** the scheme the registry asked for last: later calls send the login at once */
  private scheme: "basic" | "bearer" | undefined;

  constructor(
    readonly origin: string,
    private readonly login: RegistryLogin | undefined,
  ) {}

  /** `GET /v2/`: whether the registry speaks v2 and takes the login. */
  async check(): Promise<void> {
    const answer = await this.call("GET", "/v2/", { scope: undefined });
    if (answer.status === 401) throw this.refusal(answer, "registry");
    if (answer.status !== 200) throw badAnswer(answer, "/v2/");
  }

  /** One page of `/v2/_catalog`; `next` is the `last` of the following page, from the Link header. */
  async catalog(n: number, last?: string): Promise<{ repositories: string[]; next: string | null }> {
    const query = new URLSearchParams({ n: String(n) });
    if (last) query.set("last", last);
    const answer = await this.call("GET", `/v2/_catalog?${query}`, { scope: "registry:catalog:*" });
    this.expectOk(answer, "the catalog");
    const body = parseJson(answer.text) as { repositories?: unknown };
    return { repositories: stringList(body.repositories), next: nextLast(answer.headers) };
  }

  /** One page of `/v2/<name>/tags/list`. */
  async tags(name: string, n: number, last?: string): Promise<{ tags: string[]; next: string | null }> {
    const query = new URLSearchParams({ n: String(n) });
    if (last) query.set("last", last);
    const answer = await this.call("GET", `/v2/${name}/tags/list?${query}`, {
      scope: `repository:${name}:pull`,
    });
    if (answer.status === 404) throw new RegistryError(404, "not_found", `no repository "${name}"`);
    this.expectOk(answer, `the tags of ${name}`);
    const body = parseJson(answer.text) as { tags?: unknown };
    return { tags: stringList(body.tags), next: nextLast(answer.headers) };
  }

  /**
   * The digest the registry serves for `name:reference` now (`Docker-Content-Digest` of a HEAD).
   * Every manifest kind is accepted, indexes and manifest lists first, so that a multi-arch tag
   * answers its index's digest — the digest the engine recorded (RepoDigests) when it pulled that
   * tag — and a single-platform tag its manifest's.
   */
  async manifestDigest(name: string, reference: string): Promise<string> {
    const answer = await this.call("HEAD", `/v2/${name}/manifests/${reference}`, {
      scope: `repository:${name}:pull`,
      accept: MANIFEST_TYPES,
    });
    if (answer.status === 404)
      throw new RegistryError(404, "not_found", `the registry has no ${name}:${reference}`);
    this.expectOk(answer, `the manifest of ${name}:${reference}`);
    const digest = answer.headers.get("docker-content-digest");
    if (!digest || !/^sha256:[a-f0-9]{64}$/.test(digest))
      throw new RegistryError(502, "registry_error", "the registry answered without a Docker-Content-Digest");
    return digest;
  }

  private expectOk(answer: RegistryAnswer, what: string): void {
    if (answer.status === 401 || answer.status === 403) throw this.refusal(answer, what);
    if (answer.status !== 200) throw badAnswer(answer, what);
  }

  private refusal(answer: RegistryAnswer, what: string): RegistryError {
    if (!this.login)
      return new RegistryError(
        400,
        "registry_login_required",
        `the registry wants a login for ${what}: add its username and password`,
      );
    return answer.status === 403
      ? new RegistryError(403, "registry_forbidden", `the registry's login has no access to ${what}`)
      : refused(registryMessage(answer) ?? `HTTP ${answer.status}`);
  }

  /**
   * One call, with the login the registry asks for: sent first as the registry asked last time;
   * on a 401 the challenge is read, answered (basic, or a token from the realm), and the call
   * made once more. A second 401 is the caller's to report.
   */
  private async call(
    method: "GET" | "HEAD",
    path: string,
    { scope, accept }: { scope: string | undefined; accept?: string },
  ): Promise<RegistryAnswer> {
    const headers = (auth: string | undefined): Record<string, string> => ({
      ...(accept ? { accept } : {}),
      ...(auth ? { authorization: auth } : {}),
    });
    let answer = await this.fetch(method, `${this.origin}${path}`, headers(this.knownAuth(scope)));
    if (answer.status !== 401) return answer;
    const challenge = parseChallenge(answer.headers.get("www-authenticate") ?? "");
    let auth: string | undefined;
    if (challenge?.scheme === "basic") {
      if (!this.login) return answer;
      this.scheme = "basic";
      auth = this.basic();
    } else if (challenge?.scheme === "bearer") {
      this.scheme = "bearer";
      auth = `Bearer ${await this.token(challenge.params, scope)}`;
    } else return answer;
    answer = await this.fetch(method, `${this.origin}${path}`, headers(auth));
    return answer;
  }

  private knownAuth(scope: string | undefined): string | undefined {
    if (this.scheme === "basic" && this.login) return this.basic();
    if (this.scheme === "bearer") {
      const held = this.tokens.get(scope ?? "");
      if (held && held.until > Date.now()) return `Bearer ${held.token}`;
    }
    return undefined;
  }

  private basic(): string {
    const { username, password } = this.login!;
    return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  }

  /**
   * A token from the realm the registry named, for the scope the call needs (or the one the
   * challenge names), with the login as basic credentials — or anonymously without one. The realm
   * is held to the registry's own address rule: https, or http on loopback.
   */
  private async token(params: Record<string, string>, scope: string | undefined): Promise<string> {
    let realm: URL;
    try {
      realm = new URL(params.realm ?? "");
      checkFetchable(realm, "the registry's token realm");
    } catch (err) {
      throw new RegistryError(
        502,
        "registry_error",
        err instanceof RegistryAddressError ? err.message : "the registry named no usable token realm",
      );
    }
    const wanted = scope ?? params.scope;
    if (params.service) realm.searchParams.set("service", params.service);
    if (wanted) realm.searchParams.set("scope", wanted);
    if (this.login) realm.searchParams.set("account", this.login.username);
    const answer = await this.fetch("GET", realm.href, this.login ? { authorization: this.basic() } : {});
    if (answer.status === 401 || answer.status === 403)
      throw this.login
        ? refused(`the token service answered ${answer.status}`)
        : this.refusal(answer, "a token");
    if (answer.status !== 200) throw badAnswer(answer, "a token");
    const body = parseJson(answer.text) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
    const token = typeof body.token === "string" ? body.token : body.access_token;
    if (typeof token !== "string" || token.length === 0)
      throw new RegistryError(502, "registry_error", "the token service answered without a token");
    // The spec's default lifetime is 60 s; a little is kept back for the clock and the call itself.
    const seconds = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60;
    this.tokens.set(wanted ?? "", { token, until: Date.now() + Math.max(0, seconds - 10) * 1000 });
    return token;
  }

  /**
   * One request, redirects followed by hand: only to the same origin (a registry that sends the
   * panel elsewhere is not followed silently; the message says where), at most MAX_REDIRECTS.
   */
  private async fetch(
    method: "GET" | "HEAD",
    href: string,
    headers: Record<string, string>,
  ): Promise<RegistryAnswer> {
    let url = new URL(href);
    for (let hop = 0; ; hop++) {
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: { "user-agent": "GhostPanel", ...headers },
          redirect: "manual",
          signal: AbortSignal.timeout(TIMEOUT_MS),
        });
      } catch (err) {
        const why =
          (err as Error).name === "TimeoutError"
            ? `no answer within ${TIMEOUT_MS / 1000} s`
            : (err as Error).message;
        throw new RegistryError(502, "registry_unreachable", `cannot reach ${url.origin}: ${why}`);
      }
      if (res.status >= 300 && res.status < 400 && res.headers.get("location")) {
        await res.body?.cancel();
        const next = new URL(res.headers.get("location")!, url);
        if (next.origin !== url.origin)
          throw new RegistryError(
            502,
            "registry_redirect",
            `${url.origin} redirected to ${next.origin}, another address: not followed`,
          );
        if (hop >= MAX_REDIRECTS)
          throw new RegistryError(502, "registry_redirect", `${url.origin} redirected too many times`);
        url = next;
        continue;
      }
      return {
        status: res.status,
        headers: res.headers,
        text: method === "HEAD" ? "" : await boundedText(res),
      };
    }
  }
}

const MANIFEST_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.oci.image.manifest.v1+json",
].join(", ");

async function boundedText(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_BODY) {
      await reader.cancel();
      throw new RegistryError(
        502,
        "registry_error",
        `the registry's answer is larger than ${MAX_BODY} bytes`,
      );
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseJson(text: string): unknown {
  try {
    const v = JSON.parse(text);
    return v && typeof v === "object" ? v : {};
  } catch {
    throw new RegistryError(502, "registry_error", "the registry answered something that is not JSON");
  }
}

const stringList = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === "string") : [];

/** `Link: </v2/_catalog?last=b&n=2>; rel="next"` → "b". */
function nextLast(headers: Headers): string | null {
  const link = /<([^>]+)>\s*;\s*rel="?next"?/.exec(headers.get("link") ?? "");
  if (!link) return null;
  return new URL(link[1]!, "http://x").searchParams.get("last");
}

/** The registry's own error message (`{"errors":[{"message"}]}`), if it gave one. */
function registryMessage(answer: RegistryAnswer): string | undefined {
  try {
    const body = JSON.parse(answer.text) as { errors?: { message?: string }[] };
    const m = body.errors?.[0]?.message;
    return typeof m === "string" ? m.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

function badAnswer(answer: RegistryAnswer, what: string): RegistryError {
  const said = registryMessage(answer);
  return new RegistryError(
    502,
    "registry_error",
    `the registry answered ${answer.status} for ${what}${said ? `: ${said}` : ""}`,
  );
}
