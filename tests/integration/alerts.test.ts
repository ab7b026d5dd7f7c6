import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import { cleanupEngine, docker, eventually, PREFIX, runContainer } from "../helpers/engine.ts";
import { ADMIN, tokenFor } from "../helpers/panel.ts";
import { freeLoopbackPort } from "../helpers/ports.ts";
import { StreamClient } from "../helpers/stream.ts";

/**
 * Alerts, end to end on the built binary: rules tripped by real containers (a CPU burner, one that
 * dies, one killed for memory, one unhealthy, one in a restart loop, an engine that does not
 * answer), each event POSTed to a webhook receiver on loopback, retried after a failure, logged;
 * shown to whom may see them, acknowledged, silenced.
 */

interface Received {
  at: number;
  body: any;
}

const BURNER = `${PREFIX}burner`;
const DIER = `${PREFIX}dier`;
const HOG = `${PREFIX}hog`;
const SICK = `${PREFIX}sick`;
const LOOPER = `${PREFIX}looper`;
const OTHER = `${PREFIX}other-app`;
const vesla = (app: string) => ["--label", "vesla.managed=true", "--label", `vesla.app=${app}`];

describe("alerts (built binary)", () => {
  let panel: BinaryPanel;
  let admin: string;
  let owner: string;
  let stranger: string;
  let hookId: number;
  const received: Received[] = [];
  let failNext = 1;
  const receiver = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const body = await req.json();
      received.push({ at: Date.now(), body });
      if (failNext > 0) {
        failNext--;
        return new Response("try again", { status: 500 });
      }
      return new Response(null, { status: 204 });
    },
  });
  const api = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(panel.url + path, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };
  const rule = async (body: object) => {
    const res = await api(admin, "POST", "/api/v1/alerts/rules", { webhooks: [hookId], ...body });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body.id as number;
  };
  const delivered = (container: string, kind: string, event = "firing", timeoutMs = 30_000) =>
    eventually(
      () =>
        received.find(
          (r) => r.body.event === event && r.body.alert.container === container && r.body.alert.kind === kind,
        ),
      timeoutMs,
      `${event} ${kind} for ${container}`,
    );

  beforeAll(async () => {
    panel = await startBinary(["--tls", "off", "--stats-interval", "0.5"]);
    admin = await tokenFor(panel.url, ADMIN, "alerts-admin", "setup");
    const made = async (username: string, app: string) => {
      const user = await api(admin, "POST", "/api/v1/users", {
        username,
        password: "owner-password",
        role: "operator",
      });
      const team = await api(admin, "POST", "/api/v1/teams", { name: `team-${username}` });
      await api(admin, "PUT", `/api/v1/teams/${team.body.id}`, {
        members: [user.body.id],
        resources: [{ env: "local", kind: "app", ref: app }],
      });
      return tokenFor(panel.url, { username, password: "owner-password" }, "alerts");
    };
    owner = await made("burner-owner", BURNER);
    stranger = await made("other-owner", OTHER);
    const hook = await api(admin, "POST", "/api/v1/alerts/webhooks", {
      name: "receiver",
      url: `http://127.0.0.1:${receiver.port}/hook?token=s3cret`,
    });
    expect(hook.status).toBe(201);
    // Only the origin is shown: the query (often the credential) stays sealed.
    expect(hook.body.url).toBe(`http://127.0.0.1:${receiver.port}/…`);
    hookId = hook.body.id;
  }, 60_000);

  afterAll(async () => {
    await panel?.stop();
    receiver.stop(true);
    cleanupEngine();
  });

  it("refuses rules and webhooks from non-admins, and nonsense from admins, with a reason", async () => {
    expect((await api(owner, "POST", "/api/v1/alerts/rules", { name: "x", kind: "died" })).status).toBe(403);
    expect(
      (await api(owner, "POST", "/api/v1/alerts/webhooks", { name: "x", url: "http://127.0.0.1/" })).status,
    ).toBe(403);
    const bad = await api(admin, "POST", "/api/v1/alerts/rules", { name: "x", kind: "cpu", threshold: 0 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("threshold");
    const nohook = await api(admin, "POST", "/api/v1/alerts/rules", {
      name: "x",
      kind: "died",
      webhooks: [999],
    });
    expect(nohook.body.error.message).toContain("no webhook 999");
    const url = await api(admin, "POST", "/api/v1/alerts/webhooks", { name: "y", url: "file:///etc/passwd" });
    expect(url.status).toBe(400);
  });

  it("sends a CPU alert within the rule's window, retries a failed delivery, and resolves it", async () => {
    const FOR_SECONDS = 3;
    const ruleId = await rule({
      name: "hot",
      kind: "cpu",
      target: BURNER,
      // Low: on a machine shared with other work a busy loop may get only a slice of a CPU.
      threshold: 5,
      for_seconds: FOR_SECONDS,
    });
    const ownerStream = new StreamClient(panel.url, owner, ["alerts"]);
    const strangerStream = new StreamClient(panel.url, stranger, ["alerts"]);
    try {
      await ownerStream.next((f) => f.t === "alerts" && f.k === "snapshot");
      await strangerStream.next((f) => f.t === "alerts" && f.k === "snapshot");
      const started = Date.now();
      runContainer(BURNER, ["sh", "-c", "while :; do :; done"], vesla(BURNER));
      const first = await delivered(BURNER, "cpu");
      // Not before the condition held for the rule's window; well within it after that.
      expect(first.at - started).toBeGreaterThanOrEqual(FOR_SECONDS * 1000);
      expect(first.at - started).toBeLessThan((FOR_SECONDS + 15) * 1000);
      expect(first.body).toMatchObject({
        source: "ghostpanel",
        event: "firing",
        alert: { rule: "hot", kind: "cpu", env: "local", container: BURNER, app: BURNER, state: "firing" },
      });
      expect(first.body.alert.message).toMatch(/CPU \d+(\.\d)? % over 5 %/);
      // The receiver failed the first attempt: the second, a second later, got through.
      const alertId = first.body.alert.id;
      const log = await eventually(async () => {
        const r = await api(admin, "GET", `/api/v1/alerts/deliveries?alert=${alertId}`);
        const firing = r.body.filter((d: any) => d.event === "firing");
        return firing.some((d: any) => d.ok) ? firing : undefined;
      });
      expect(log.map((d: any) => [d.attempt, d.status, d.ok]).reverse()).toEqual([
        [1, 500, false],
        [2, 204, true],
      ]);
      expect(log[0].at - log[1].at).toBeGreaterThanOrEqual(900);

      // Shown to the app's owner, live and listed; not to another owner.
      await ownerStream.next((f) => f.t === "alerts" && f.k === "upsert" && f.d.id === alertId);
      expect((await api(owner, "GET", "/api/v1/alerts")).body.map((a: any) => a.id)).toContain(alertId);
      expect((await api(stranger, "GET", "/api/v1/alerts")).body.map((a: any) => a.id)).not.toContain(
        alertId,
      );
      expect((await api(stranger, "POST", `/api/v1/alerts/${alertId}/ack`)).status).toBe(404);
      const acked = await api(owner, "POST", `/api/v1/alerts/${alertId}/ack`);
      expect(acked.status).toBe(200);
      expect(acked.body.acked_by).toBe("burner-owner");
      await ownerStream.next(
        (f) => f.k === "upsert" && f.d.id === alertId && f.d.acked_by === "burner-owner",
      );

      docker("rm", "-f", BURNER);
      const resolved = await delivered(BURNER, "cpu", "resolved");
      expect(resolved.body.alert).toMatchObject({ id: alertId, state: "resolved" });
      expect(strangerStream.frames.filter((f) => f.k === "upsert")).toEqual([]);
      await api(admin, "DELETE", `/api/v1/alerts/rules/${ruleId}`);
    } finally {
      ownerStream.close();
      strangerStream.close();
    }
  }, 90_000);

  it("sends died with the exit code; a silenced rule records but sends nothing", async () => {
    const ruleId = await rule({ name: "died", kind: "died", target: DIER });
    runContainer(DIER, ["sh", "-c", "sleep 2; exit 3"]);
    const died = await delivered(DIER, "died");
    expect(died.body.alert.message).toContain("exit code 3");
    expect(docker("inspect", "-f", "{{.State.ExitCode}}", DIER)).toBe("3");

    const silenced = await api(admin, "POST", `/api/v1/alerts/rules/${ruleId}/silence`, { minutes: 60 });
    expect(silenced.body.silenced_until).toBeGreaterThan(Date.now());
    const before = received.length;
    docker("start", DIER);
    const second = await eventually(async () => {
      const list = (await api(admin, "GET", "/api/v1/alerts")).body.filter(
        (a: any) => a.container === DIER && a.id !== died.body.alert.id,
      );
      return list[0];
    }, 20_000);
    expect(second).toMatchObject({ kind: "died", silenced: true });
    await Bun.sleep(2_000);
    expect(received.slice(before).filter((r) => r.body.alert.container === DIER)).toEqual([]);
  }, 60_000);

  it("sends oom for a container the kernel killed for memory", async () => {
    await rule({ name: "oom", kind: "oom", target: HOG });
    runContainer(
      HOG,
      ["sh", "-c", "x=0123456789; while :; do x=$x$x; done"],
      ["--memory", "16m", "--memory-swap", "16m"],
    );
    const oom = await delivered(HOG, "oom");
    expect(oom.body.alert.message).toContain("OOM");
    expect(docker("inspect", "-f", "{{.State.OOMKilled}}", HOG)).toBe("true");
  }, 60_000);

  it("sends unhealthy and restart_loop", async () => {
    await rule({ name: "sick", kind: "unhealthy", target: SICK });
    await rule({ name: "loop", kind: "restart_loop", target: LOOPER, threshold: 3, for_seconds: 60 });
    runContainer(
      SICK,
      ["sleep", "3600"],
      ["--health-cmd", "false", "--health-interval", "1s", "--health-retries", "1"],
    );
    runContainer(LOOPER, ["sh", "-c", "sleep 1; exit 1"], ["--restart", "always"]);
    expect((await delivered(SICK, "unhealthy")).body.alert.message).toContain("unhealthy");
    expect(docker("inspect", "-f", "{{.State.Health.Status}}", SICK)).toBe("unhealthy");
    const loop = await delivered(LOOPER, "restart_loop", "firing", 45_000);
    expect(loop.body.alert.message).toMatch(/restarted \d+ times within 60 s/);
    expect(Number(docker("inspect", "-f", "{{.RestartCount}}", LOOPER))).toBeGreaterThanOrEqual(2);
  }, 90_000);

  it("sends engine_down for an engine that does not answer", async () => {
    const port = await freeLoopbackPort();
    const env = await api(admin, "POST", "/api/v1/envs", {
      name: "gone-engine",
      url: `tcp://127.0.0.1:${port}`,
    });
    expect(env.status, JSON.stringify(env.body)).toBe(201);
    await rule({ name: "down", kind: "engine_down", env: "gone-engine" });
    const down = await eventually(
      () => received.find((r) => r.body.alert.kind === "engine_down" && r.body.alert.env === "gone-engine"),
      30_000,
    );
    expect(down.body.alert.message).toContain('engine "gone-engine" is down');
    // Only who may see the whole engine sees it.
    expect((await api(owner, "GET", "/api/v1/alerts")).body.some((a: any) => a.kind === "engine_down")).toBe(
      false,
    );
    await api(admin, "DELETE", "/api/v1/envs/gone-engine");
  }, 60_000);
});
