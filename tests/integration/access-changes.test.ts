import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeMessage } from "../../src/protocol/frames.ts";
import { cleanupEngine, eventually, RUN_ID, runContainer, shellsIn, uniqueName } from "../helpers/engine.ts";
import { sessionCookies, startTestPanel, type TestPanel } from "../helpers/panel.ts";
import { type Frame, StreamClient } from "../helpers/stream.ts";

/**
 * Access that changes while a stream is open takes effect at once (within a second), not at the
 * stream's next periodic check (10 s): what a shell runs is hung up on, a log stream stops, lists
 * and figures lose what the caller may no longer see, and a stream whose credentials are gone closes.
 */

const PASSWORD = "changes-password";
const WITHIN_MS = 1_000;
// Other runs share the engine: a team name of their own keeps their labelled containers out.
const TEAM = `changes-${RUN_ID}`;

describe("access changes reach open streams within a second", () => {
  let p: TestPanel;
  let ownedName = "";
  let owned = "";
  let plain = "";
  let teamId = 0;
  let user = 0;
  const clients: StreamClient[] = [];

  /** Logs in as the UI does: the session's cookies, its CSRF token, and a token made with them. */
  const login = async (username: string) => {
    const res = await fetch(`${p.url}/api/v1/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password: PASSWORD }),
    });
    expect(res.status).toBe(200);
    const cookie = sessionCookies(res);
    const csrf = /gp_csrf=([^;]+)/.exec(cookie)![1]!;
    const asSession = (method: string, path: string, body?: unknown) =>
      fetch(p.url + path, {
        method,
        headers: { cookie, "x-csrf-token": csrf, "content-type": "application/json", origin: p.url },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const made = await asSession("POST", "/api/v1/tokens", { name: "changes" });
    const { token, id } = (await made.json()) as { token: string; id: number };
    return { cookie, token, tokenId: id, asSession };
  };
  const stream = async (auth: string | Record<string, string>, topics: string[]) => {
    const client = new StreamClient(p.url, auth, topics);
    clients.push(client);
    await client.open();
    return client;
  };
  /**
   * Makes the change and returns how long from its answer (the change is made then; a password's
   * hashing before it is not the stream's time) until `done` holds.
   */
  const timeUntil = async (change: () => Promise<unknown>, done: () => boolean | Promise<boolean>) => {
    await change();
    const started = performance.now();
    await eventually(
      async () => ((await done()) ? true : undefined),
      5_000,
      "the change to reach the stream",
    );
    return performance.now() - started;
  };
  const shellsGone = async (container: string) => (await shellsIn(container)) === 0;
  const shellUp = (container: string) =>
    eventually(async () => ((await shellsIn(container)) === 1 ? true : undefined), 5_000, "the shell");
  const setMembers = (members: number[]) => p.api("PUT", `/api/v1/teams/${teamId}`, { members });
  const errorOn = (client: StreamClient, topic: string) => () =>
    client.frames.some((f) => f.t === topic && f.k === "error" && f.d.code === "revoked");
  const closedWith = (client: StreamClient, code: number) => () => client.closeCode === code;

  beforeAll(async () => {
    p = await startTestPanel();
    ownedName = uniqueName("team");
    // It logs a line every 100 ms: a log stream that stops is told from one that is merely quiet.
    owned = runContainer(
      ownedName,
      ["sh", "-c", "while :; do date; sleep 0.1; done"],
      ["--label", `ghostpanel.team=${TEAM}`],
    );
    plain = runContainer(uniqueName("plain"));
    await eventually(async () => {
      const list = (await p.api("GET", "/api/v1/envs/local/containers")).body as { id: string }[];
      return list.some((c) => c.id === owned) && list.some((c) => c.id === plain) ? true : undefined;
    });
    const made = await p.api("POST", "/api/v1/teams", { name: TEAM });
    teamId = made.body.id;
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await p?.stop();
    cleanupEngine();
  });

  let users = 0;
  /** A fresh operator in the team, so that each test starts from the access it takes away. */
  const member = async () => {
    const username = `changes-${++users}`;
    const res = await p.api("POST", "/api/v1/users", { username, password: PASSWORD, role: "operator" });
    expect(res.status).toBe(201);
    user = res.body.id;
    expect((await setMembers([user])).status).toBe(200);
    return { id: user, username, ...(await login(username)) };
  };

  it("ends the shell, the log stream and the view of a user removed from the owning team", async () => {
    const me = await member();
    const exec = `exec:local:${owned}:changes-shell-1`;
    const logs = `logs:local:${owned}`;
    const client = await stream(me.token, [exec, logs, "containers:local", "stats:local"]);
    await client.next((f) => f.t === exec && f.k === "started");
    client.send(encodeMessage({ op: "input", t: exec, d: new TextEncoder().encode("sleep 4321\n") }));
    await shellUp(owned);
    await client.next((f) => f.t === logs && f.k === "lines");
    // Stats name containers once they have figures: wait for the owned one to be named.
    await eventually(() => (statsNames(client.frames).includes(ownedName) ? true : undefined), 15_000);
    const mark = client.frames.length;

    const elapsed = await timeUntil(
      () => setMembers([]),
      async () =>
        errorOn(client, exec)() &&
        errorOn(client, logs)() &&
        client.frames
          .slice(mark)
          .some((f) => f.t === "containers:local" && f.k === "snapshot" && f.d.length === 0) &&
        client.frames.slice(mark).some((f) => f.t === "stats:local" && f.k === "key" && f.d.c.length === 0) &&
        (await shellsGone(owned)),
    );
    expect(elapsed).toBeLessThan(WITHIN_MS);
    // What the shell started went with it, and nothing more is logged to this subscriber.
    expect(await shellsIn(owned)).toBe(0);
    const after = client.frames.length;
    await Bun.sleep(500);
    expect(client.frames.slice(after).filter((f) => f.t === logs)).toEqual([]);
    client.send(encodeMessage({ op: "input", t: exec, d: new TextEncoder().encode("id\n") }));
    const refused = await client.next((f) => f.t === exec && f.d?.code === "not_subscribed", 5_000, after);
    expect(refused.k).toBe("error");
    // The stream itself stays: the user still has what is left.
    expect(client.closeCode).toBeUndefined();
  }, 60_000);

  it("ends a shell in an engine the team no longer owns", async () => {
    const me = await member();
    await p.api("PUT", `/api/v1/teams/${teamId}`, { resources: [{ env: "local", kind: "env" }] });
    const exec = `exec:local:${plain}:changes-shell-2`;
    const client = await stream(me.token, [exec]);
    await client.next((f) => f.t === exec && f.k === "started");
    await shellUp(plain);
    const elapsed = await timeUntil(
      () => p.api("PUT", `/api/v1/teams/${teamId}`, { resources: [] }),
      async () => errorOn(client, exec)() && (await shellsGone(plain)),
    );
    expect(elapsed).toBeLessThan(WITHIN_MS);
    await setMembers([]);
  }, 30_000);

  it("closes the streams of a revoked token, a logged-out session, a reset password, a new role and a removed user", async () => {
    const cases: [
      string,
      (me: Awaited<ReturnType<typeof member>>) => Promise<unknown>,
      "token" | "cookie",
      number,
    ][] = [
      ["token revoked", (me) => me.asSession("DELETE", `/api/v1/tokens/${me.tokenId}`), "token", 4401],
      ["logout", (me) => me.asSession("POST", "/api/v1/auth/logout"), "cookie", 4401],
      [
        "password reset by an admin",
        (me) => p.api("PUT", `/api/v1/users/${me.id}`, { password: "a-new-password" }),
        "cookie",
        4401,
      ],
      ["new role", (me) => p.api("PUT", `/api/v1/users/${me.id}`, { role: "viewer" }), "token", 4403],
      ["user removed", (me) => p.api("DELETE", `/api/v1/users/${me.id}`), "token", 4401],
    ];
    for (const [what, change, via, code] of cases) {
      const me = await member();
      const exec = `exec:local:${owned}:changes-${via}-${me.id}`;
      const auth = via === "token" ? me.token : { cookie: me.cookie, origin: p.url };
      const client = await stream(auth, [exec]);
      await client.next((f) => f.t === exec && f.k === "started");
      await shellUp(owned);
      const elapsed = await timeUntil(
        () => change(me),
        async () => closedWith(client, code)() && (await shellsGone(owned)),
      );
      expect(elapsed, what).toBeLessThan(WITHIN_MS);
    }
  }, 60_000);
});

/** Every container name the stats frames so far have carried. */
function statsNames(frames: Frame[]): string[] {
  return frames
    .filter((f) => f.t === "stats:local")
    .flatMap((f) => (f.k === "key" ? f.d.c : (f.d.n ?? [])))
    .map((r: unknown[]) => r[2] as string);
}
