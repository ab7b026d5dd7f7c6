import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { recreateContainer } from "../../src/containers/recreate.ts";
import { DockerHttpEngine } from "../../src/engine/docker-http.ts";
import { parseEngineUrl } from "../../src/engine/url.ts";
import type { Environment } from "../../src/envs/environments.ts";
import { cleanupEngine, docker, eventually, PREFIX, RUN_LABEL, TEST_IMAGE } from "../helpers/engine.ts";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";
import {
  countingProxy,
  dockerAsync,
  dockerConfigFor,
  startRegistry,
  type TestRegistry,
} from "../helpers/registry-server.ts";
import { StreamClient } from "../helpers/stream.ts";

/**
 * Update detection and recreate, end to end: an image pushed to a real registry (Debian's
 * docker-registry on loopback), a container run from it, another image pushed under the same tag;
 * the panel sees the new digest and recreates the container on it, keeping what it was.
 */

const made: { networks: string[]; volumes: string[] } = { networks: [], volumes: [] };

function inspect(ref: string): any {
  return JSON.parse(docker("inspect", ref))[0];
}

/** An image of the test image plus a label, tagged `ref`; its id. */
async function build(ref: string, version: string): Promise<string> {
  const dir = `/tmp/${PREFIX}build-${version}-${Date.now()}`;
  await Bun.write(`${dir}/Dockerfile`, `FROM ${TEST_IMAGE}\nLABEL gptest.version=${version}\n`);
  try {
    return docker("build", "-q", "--label", RUN_LABEL, "-t", ref, dir);
  } finally {
    Bun.spawnSync(["rm", "-rf", dir]);
  }
}

/**
 * Another image pushed under `ref` — from elsewhere, as far as this engine knows: the tag goes
 * back to the image it had and the new one is removed here, so that a pull must fetch it.
 */
async function pushNewer(ref: string, args: string[]): Promise<void> {
  const before = docker("image", "inspect", "-f", "{{.Id}}", ref);
  const newer = await build(ref, "2");
  await dockerAsync(...args, "push", ref);
  docker("tag", before, ref);
  docker("rmi", newer);
}

describe.each([
  ["no auth", undefined],
  ["htpasswd", "htpasswd"],
  ["token auth", "token"],
] as const)("image updates and recreate, registry with %s", (_label, auth) => {
  let p: TestPanel;
  let registry: TestRegistry;
  let cli: ReturnType<typeof dockerConfigFor>;
  const tag = Math.random().toString(36).slice(2, 8);
  const name = `${PREFIX}upd-${tag}`;
  let ref = "";
  let net1 = "";
  let net2 = "";
  let volume = "";

  beforeAll(async () => {
    [p, registry] = await Promise.all([startTestPanel(), startRegistry({ auth })]);
    cli = dockerConfigFor(registry);
    ref = `${registry.host}/${PREFIX}app-${tag}:1`.toLowerCase();
    // Its own subnets: a static address must be inside one.
    const octet = 100 + Math.floor(Math.random() * 100);
    net1 = `${PREFIX}net1-${tag}`;
    net2 = `${PREFIX}net2-${tag}`;
    volume = `${PREFIX}vol-${tag}`;
    docker("network", "create", "--label", RUN_LABEL, "--subnet", `10.${octet}.1.0/24`, net1);
    docker("network", "create", "--label", RUN_LABEL, "--subnet", `10.${octet}.2.0/24`, net2);
    docker("volume", "create", "--label", RUN_LABEL, volume);
    made.networks.push(net1, net2);
    made.volumes.push(volume);
    await build(ref, "1");
    await dockerAsync(...cli.args, "push", ref);
    const added = await p.api("POST", "/api/v1/registries", {
      name: `${PREFIX}reg-${tag}`,
      url: registry.url,
      ...(auth ? { username: registry.username, password: registry.password } : {}),
    });
    expect(added.status).toBe(201);
    docker(
      "run",
      "-d",
      "--name",
      name,
      "--label",
      RUN_LABEL,
      "--label",
      "gptest.keep=yes",
      "--network",
      net1,
      "--network-alias",
      "web-alias",
      "--ip",
      `10.${octet}.1.50`,
      "-v",
      `${volume}:/data`,
      "-v",
      "/anon",
      "--restart",
      "unless-stopped",
      "-e",
      "GPTEST_SETTING=kept",
      ref,
      "sh",
      "-c",
      "echo hello > /anon/file; exec sleep 3600",
    );
    docker("network", "connect", "--alias", "second-alias", "--ip", `10.${octet}.2.60`, net2, name);
    await eventually(async () => {
      const list = await p.api("GET", "/api/v1/envs/local/containers");
      return list.body.some((c: { name: string }) => c.name === name) ? true : undefined;
    });
  }, 180_000);

  afterAll(async () => {
    await p?.stop();
    cleanupEngine();
    cli?.remove();
    await registry?.stop();
    for (const n of made.networks.splice(0)) Bun.spawnSync(["docker", "network", "rm", n]);
    for (const v of made.volumes.splice(0)) Bun.spawnSync(["docker", "volume", "rm", "-f", v]);
    Bun.spawnSync(["docker", "rmi", ref]);
    Bun.spawnSync(["docker", "image", "prune", "-a", "-f", "--filter", `label=${RUN_LABEL}`]);
  }, 180_000);

  const checked = async () => {
    const res = await p.api("POST", `/api/v1/envs/local/updates/check?container=${name}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.find((u: { name: string }) => u.name === name);
  };

  it("sees the container's image as current, then a newer image pushed under its tag", async () => {
    const first = await checked();
    expect(first.status, JSON.stringify(first)).toBe("current");
    const old = inspect(name);
    const repoDigest = JSON.parse(docker("image", "inspect", old.Image)).at(0).RepoDigests[0];
    expect(repoDigest).toBe(`${ref.replace(/:1$/, "")}@${first.local_digest}`);

    const stream = new StreamClient(p.url, p.token, ["updates:local"]);
    await stream.open();
    try {
      await pushNewer(ref, cli.args);
      // A HEAD answered within the last few seconds is not asked again: poll, boundedly.
      const later = await eventually(
        async () => {
          const u = await checked();
          return u.status === "available" ? u : undefined;
        },
        40_000,
        "update available",
      );
      expect(later.remote_digest).not.toBe(later.local_digest);
      const frame = await stream.next(
        (f) => f.t === "updates:local" && f.k === "upsert" && f.d.name === name && f.d.status === "available",
      );
      expect(frame.d).not.toHaveProperty("labels");
    } finally {
      stream.close();
    }
  }, 180_000);

  it("recreates it on the newer image, keeping name, networks, addresses, volumes, labels, restart and env", async () => {
    const before = inspect(name);
    const res = await p.api("POST", `/api/v1/envs/local/containers/${name}/recreate`);
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const job = await eventually(
      async () => {
        const j = await p.api("GET", `/api/v1/envs/local/jobs/${res.body.job}`);
        return j.body.state === "running" ? undefined : j.body;
      },
      60_000,
      "the recreate job",
    );
    expect(job.state, JSON.stringify(job)).toBe("done");
    const pulled = docker("image", "inspect", "-f", "{{.Id}}", ref);
    const after = inspect(name);
    expect(after.Id).not.toBe(before.Id);
    expect(after.Image).toBe(pulled);
    expect(after.Image).not.toBe(before.Image);
    expect(after.Config.Labels["gptest.version"]).toBe("2");
    expect(after.State.Running).toBe(true);
    expect(after.Config.Labels["gptest.keep"]).toBe("yes");
    expect(after.Config.Env).toContain("GPTEST_SETTING=kept");
    expect(after.Config.Cmd).toEqual(before.Config.Cmd);
    expect(after.HostConfig.RestartPolicy.Name).toBe("unless-stopped");
    for (const net of [net1, net2]) {
      expect(Object.keys(after.NetworkSettings.Networks)).toContain(net);
      const was = before.NetworkSettings.Networks[net];
      const now = after.NetworkSettings.Networks[net];
      expect(now.IPAddress).toBe(was.IPAddress);
      expect(now.IPAMConfig).toEqual(was.IPAMConfig);
    }
    expect(after.NetworkSettings.Networks[net1].Aliases).toContain("web-alias");
    expect(after.NetworkSettings.Networks[net2].Aliases).toContain("second-alias");
    const mounts = (c: any) =>
      c.Mounts.map((m: any) => `${m.Type}:${m.Name}:${m.Destination}`).sort() as string[];
    expect(mounts(after)).toEqual(mounts(before));
    // The anonymous volume came along with what the old container wrote in it.
    expect(docker("exec", name, "cat", "/anon/file")).toBe("hello");
    // The old container is gone, not left aside.
    expect(docker("ps", "-a", "--filter", `id=${before.Id}`, "-q")).toBe("");
    expect(docker("ps", "-a", "--filter", `name=${name}-gp-old`, "-q")).toBe("");

    const now = await eventually(
      async () => {
        const u = await checked();
        return u?.status === "current" ? u : undefined;
      },
      20_000,
      "current after recreate",
    );
    expect(now.id).toBe(after.Id);
  }, 180_000);
});

describe("recreate that fails on the way", () => {
  it("puts the old container back, named and running as it was, and says why", async () => {
    const name = `${PREFIX}rollback`;
    docker("run", "-d", "--name", name, "--label", RUN_LABEL, TEST_IMAGE, "sleep", "3600");
    const engine = new DockerHttpEngine(parseEngineUrl("unix:///var/run/docker.sock"));
    await engine.connect();
    const env = { id: "local", engine, containers: { refresh: async () => {} } } as unknown as Environment;
    const before = inspect(name);
    const lines: string[] = [];
    const job = { signal: new AbortController().signal, step() {}, line: (l: string) => lines.push(l) };
    try {
      // The engine refuses a 1-byte memory limit: the create fails after the old one was set aside.
      await expect(
        recreateContainer(
          env,
          name,
          {
            pull: false,
            edit: (body) => ({ ...body, HostConfig: { ...body.HostConfig, Memory: 1 } }),
            check: async (body) => {
              const { name: _n, ...config } = body;
              return { config, volumes: [] };
            },
            createVolumes: async () => {},
          },
          job,
        ),
      ).rejects.toThrow(/could not be made: .*memory.*kept as it was/i);
      const after = inspect(name);
      expect(after.Id).toBe(before.Id);
      expect(after.State.Running).toBe(true);
      expect(lines.some((l) => l.includes("renamed"))).toBe(true);
      expect(docker("ps", "-a", "--filter", `name=${name}-gp-old`, "-q")).toBe("");
    } finally {
      cleanupEngine();
    }
  }, 60_000);
});

describe("recreate by a non-admin", () => {
  let p: TestPanel;
  let operator = "";
  beforeAll(async () => {
    p = await startTestPanel();
    const user = await p.api("POST", "/api/v1/users", {
      username: "upd-operator",
      password: "operator-password",
      role: "operator",
    });
    const team = await p.api("POST", "/api/v1/teams", { name: "updteam" });
    await p.api("PUT", `/api/v1/teams/${team.body.id}`, { members: [user.body.id] });
    operator = await tokenFor(p.url, { username: "upd-operator", password: "operator-password" }, "t");
  }, 60_000);
  afterAll(async () => {
    await p?.stop();
    cleanupEngine();
  });

  const recreateAs = async (container: string) => {
    const res = await fetch(`${p.url}/api/v1/envs/local/containers/${container}/recreate?pull=false`, {
      method: "POST",
      headers: { authorization: `Bearer ${operator}` },
    });
    expect(res.status).toBe(202);
    const { job } = (await res.json()) as { job: string };
    return eventually(async () => {
      const j = await p.api("GET", `/api/v1/envs/local/jobs/${job}`);
      return j.body.state === "running" ? undefined : j.body;
    }, 30_000);
  };

  it("goes through engine safety like a create: what the caller could not ask for is refused, nothing touched", async () => {
    const name = `${PREFIX}capped`;
    docker(
      "run",
      "-d",
      "--name",
      name,
      "--label",
      RUN_LABEL,
      "--label",
      "ghostpanel.team=updteam",
      "--cap-add",
      "NET_ADMIN",
      TEST_IMAGE,
      "sleep",
      "3600",
    );
    await eventually(async () =>
      (await p.api("GET", "/api/v1/envs/local/containers")).body.some((c: any) => c.name === name)
        ? true
        : undefined,
    );
    const before = inspect(name);
    const job = await recreateAs(name);
    expect(job.state).toBe("failed");
    expect(job.error).toMatch(/HostConfig\.CapAdd/);
    const after = inspect(name);
    expect(after.Id).toBe(before.Id);
    expect(after.Name).toBe(`/${name}`);
    expect(after.State.Running).toBe(true);
  }, 60_000);

  it("recreates a container of the caller's team that asks for nothing beyond a create's rights", async () => {
    const name = `${PREFIX}plain`;
    docker(
      "run",
      "-d",
      "--name",
      name,
      "--label",
      RUN_LABEL,
      "--label",
      "ghostpanel.team=updteam",
      TEST_IMAGE,
      "sleep",
      "3600",
    );
    await eventually(async () =>
      (await p.api("GET", "/api/v1/envs/local/containers")).body.some((c: any) => c.name === name)
        ? true
        : undefined,
    );
    const before = inspect(name);
    const job = await recreateAs(name);
    expect(job.state, JSON.stringify(job)).toBe("done");
    const after = inspect(name);
    expect(after.Id).not.toBe(before.Id);
    expect(after.Config.Labels["ghostpanel.team"]).toBe("updteam");
    expect(after.State.Running).toBe(true);
  }, 60_000);
});

describe("update checks never hammer a registry", () => {
  let p: TestPanel;
  let registry: TestRegistry;
  let proxy: ReturnType<typeof countingProxy>;
  const tag = Math.random().toString(36).slice(2, 8);
  let ref = "";
  const names = [1, 2, 3].map((i) => `${PREFIX}many-${tag}-${i}`);
  const heads = () =>
    proxy.seen.filter(
      (r) => r.method === "HEAD" && r.path.includes("/manifests/") && r.agent === "GhostPanel",
    ).length;

  beforeAll(async () => {
    [p, registry] = await Promise.all([startTestPanel(), startRegistry()]);
    proxy = countingProxy(registry);
    ref = `${proxy.host}/${PREFIX}many-${tag}:1`.toLowerCase();
    await build(ref, "1");
    await dockerAsync("push", ref);
    expect(
      (await p.api("POST", "/api/v1/registries", { name: `${PREFIX}proxy-${tag}`, url: proxy.url })).status,
    ).toBe(201);
    for (const name of names) docker("run", "-d", "--name", name, "--label", RUN_LABEL, ref, "sleep", "3600");
  }, 180_000);

  afterAll(async () => {
    await p?.stop();
    cleanupEngine();
    await proxy?.stop();
    await registry?.stop();
    Bun.spawnSync(["docker", "rmi", ref]);
    Bun.spawnSync(["docker", "image", "prune", "-a", "-f", "--filter", `label=${RUN_LABEL}`]);
  }, 180_000);

  it("asks once per repo:tag for every container that uses it, on demand and on the schedule", async () => {
    // New containers are checked as they appear, all three with one HEAD.
    const all = await eventually(
      async () => {
        const list = (await p.api("GET", "/api/v1/envs/local/updates")).body as {
          name: string;
          status: string;
        }[];
        const mine = list.filter((u) => names.includes(u.name));
        return mine.length === 3 && mine.every((u) => u.status === "current") ? mine : undefined;
      },
      60_000,
      "three containers checked",
    );
    expect(all).toHaveLength(3);
    expect(heads()).toBe(1);

    // Five callers at once: at most one more HEAD, shared by all of them.
    const answers = await Promise.all(
      [1, 2, 3, 4, 5].map(() => p.api("POST", "/api/v1/envs/local/updates/check")),
    );
    for (const a of answers) expect(a.status).toBe(200);
    expect(heads()).toBeLessThanOrEqual(2);

    // The schedule: every 10 s (the shortest allowed), with nobody asking.
    const before = heads();
    const started = Date.now();
    expect((await p.api("PUT", "/api/v1/settings/updates", { interval_seconds: 10 })).status).toBe(200);
    await eventually(async () => (heads() > before ? true : undefined), 40_000, "a scheduled check");
    const elapsed = Date.now() - started;
    expect(heads() - before).toBeLessThanOrEqual(Math.ceil(elapsed / 10_000));
    expect((await p.api("PUT", "/api/v1/settings/updates", { interval_seconds: 5 })).status).toBe(400);
    expect((await p.api("PUT", "/api/v1/settings/updates", { interval_seconds: 0 })).status).toBe(200);
  }, 120_000);

  it("a registry that never answers: the check ends with the reason, one request for everyone, the panel answering meanwhile", async () => {
    proxy.stall = true;
    try {
      // Past the on-demand floor, so that the check asks the registry again.
      await Bun.sleep(5_500);
      const before = heads();
      let settled = false;
      const checks = Promise.all([1, 2].map(() => p.api("POST", "/api/v1/envs/local/updates/check"))).finally(
        () => {
          settled = true;
        },
      );
      await eventually(
        async () => (heads() > before ? true : undefined),
        10_000,
        "the HEAD to the stalled registry",
      );
      // While the registry hangs, the panel answers everything else.
      const list = await p.api("GET", "/api/v1/envs/local/updates");
      expect(list.status).toBe(200);
      expect(settled).toBe(false);
      const answers = await checks;
      expect(heads() - before).toBe(1);
      for (const a of answers) {
        expect(a.status).toBe(200);
        const mine = (a.body as { name: string; status: string; error: string | null }[]).filter((u) =>
          names.includes(u.name),
        );
        expect(mine).toHaveLength(3);
        for (const u of mine) {
          expect(u.status).toBe("error");
          expect(u.error).toContain(`cannot reach ${proxy.url}: no answer within 10 s`);
        }
      }
      // The registry's own test call says the same, rather than losing its connection.
      const registries = (await p.api("GET", "/api/v1/registries")).body as { id: number; name: string }[];
      const mine = registries.find((r) => r.name === `${PREFIX}proxy-${tag}`);
      const tested = await p.api("POST", `/api/v1/registries/${mine?.id}/test`);
      expect(tested.status).toBe(502);
      expect(JSON.stringify(tested.body)).toContain("no answer within 10 s");
    } finally {
      proxy.stall = false;
    }
    // The registry back: the next check past the floor is current again.
    await Bun.sleep(5_500);
    const again = await p.api("POST", "/api/v1/envs/local/updates/check");
    const mine = (again.body as { name: string; status: string }[]).filter((u) => names.includes(u.name));
    expect(mine.map((u) => u.status)).toEqual(["current", "current", "current"]);
  }, 90_000);
});

describe("a multi-arch tag (a manifest list)", () => {
  let p: TestPanel;
  let registry: TestRegistry;
  let cli: ReturnType<typeof dockerConfigFor>;
  const tag = Math.random().toString(36).slice(2, 8);
  let repo = "";
  const name = `${PREFIX}multi-${tag}`;

  beforeAll(async () => {
    [p, registry] = await Promise.all([startTestPanel(), startRegistry()]);
    cli = dockerConfigFor(registry);
    repo = `${registry.host}/${PREFIX}multi-${tag}`.toLowerCase();
    // Two images under one list; the second annotated arm64, so this engine (amd64) pulls the first.
    await build(`${repo}:amd64`, "1");
    await build(`${repo}:arm64`, "2");
    await dockerAsync(...cli.args, "push", `${repo}:amd64`);
    await dockerAsync(...cli.args, "push", `${repo}:arm64`);
    await dockerAsync(
      ...cli.args,
      "manifest",
      "create",
      "--insecure",
      `${repo}:1`,
      `${repo}:amd64`,
      `${repo}:arm64`,
    );
    await dockerAsync(...cli.args, "manifest", "annotate", "--arch", "arm64", `${repo}:1`, `${repo}:arm64`);
    await dockerAsync(...cli.args, "manifest", "push", "--insecure", `${repo}:1`);
    docker("rmi", `${repo}:amd64`, `${repo}:arm64`);
    await dockerAsync("pull", `${repo}:1`);
    expect(
      (await p.api("POST", "/api/v1/registries", { name: `${PREFIX}multi-${tag}`, url: registry.url }))
        .status,
    ).toBe(201);
    docker("run", "-d", "--name", name, "--label", RUN_LABEL, `${repo}:1`, "sleep", "3600");
  }, 180_000);

  afterAll(async () => {
    await p?.stop();
    cleanupEngine();
    cli?.remove();
    await registry?.stop();
    Bun.spawnSync(["docker", "rmi", `${repo}:1`]);
    Bun.spawnSync(["docker", "image", "prune", "-a", "-f", "--filter", `label=${RUN_LABEL}`]);
  }, 180_000);

  it("compares the list's digest (what the engine recorded when it pulled the tag) with the list's", async () => {
    const listDigest = docker("image", "inspect", "-f", "{{index .RepoDigests 0}}", `${repo}:1`).split(
      "@",
    )[1];
    // What a HEAD asking only for single manifests would be answered: this platform's manifest.
    const single = await fetch(`${registry.url}/v2/${repo.split("/")[1]}/manifests/1`, {
      method: "HEAD",
      headers: { accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    expect(single.headers.get("docker-content-digest")).not.toBe(listDigest);
    const u = await eventually(async () => {
      const res = await p.api("POST", `/api/v1/envs/local/updates/check?container=${name}`);
      return res.body?.find((x: { name: string }) => x.name === name);
    });
    expect(u).toMatchObject({ status: "current", local_digest: listDigest, remote_digest: listDigest });
  }, 60_000);
});
