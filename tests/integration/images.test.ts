import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarOf } from "../../src/images/tar.ts";
import {
  cleanupEngine,
  docker,
  eventually,
  PREFIX,
  RUN_ID,
  RUN_LABEL,
  TEST_IMAGE,
  uniqueName,
} from "../helpers/engine.ts";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";
import { startRegistry, type TestRegistry } from "../helpers/registry-server.ts";
import { StreamClient } from "../helpers/stream.ts";

/**
 * Images through the panel against the real engine and a real registry (Debian's docker-registry
 * on loopback): what the engine did is read back with the docker CLI. Every image made here is
 * named with PREFIX or labelled `gptest.images=<run>`, and removed at the end.
 */
const LABEL_KEY = "gptest.images";
const LABEL = `${LABEL_KEY}=${RUN_ID}`;
const BASE = "/api/v1/envs/local";

interface Job {
  id: string;
  state: string;
  error: string | null;
  result: string | null;
  log: string[];
  steps: { id: string; status: string; current: number; total: number }[];
}

describe("images", () => {
  let p: TestPanel;
  let registry: TestRegistry;
  const made = new Set<string>();

  const imageId = (ref: string) => docker("image", "inspect", "--format", "{{.Id}}", ref);
  const exists = (ref: string) => {
    try {
      imageId(ref);
      return true;
    } catch {
      return false;
    }
  };
  const ended = async (id: string): Promise<Job> =>
    eventually(
      async () => {
        const res = await p.api("GET", `${BASE}/jobs/${id}`);
        return res.body.state === "running" ? undefined : (res.body as Job);
      },
      200_000,
      `job ${id} ends`,
    );
  /** Builds from a pasted Dockerfile through the panel; returns the finished job. */
  const build = async (dockerfile: string, extra: Record<string, unknown> = {}): Promise<Job> => {
    const res = await p.api("POST", `${BASE}/images/build`, { dockerfile, ...extra });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const job = await ended(res.body.job.id);
    if (job.result) made.add(job.result);
    return job;
  };
  const upload = (path: string, bytes: Uint8Array<ArrayBuffer>) =>
    fetch(p.url + path, {
      method: "POST",
      headers: { authorization: `Bearer ${p.token}`, "content-type": "application/x-tar" },
      body: bytes,
    });

  beforeAll(async () => {
    [p, registry] = await Promise.all([startTestPanel(), startRegistry()]);
  }, 240_000);

  afterAll(async () => {
    await p?.stop();
    await registry?.stop();
    cleanupEngine();
    const refs = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}")
      .split("\n")
      .filter((r) => r.includes(PREFIX) || r.includes(`gptest-${RUN_ID}`));
    const labelled = docker("image", "ls", "-q", "--no-trunc", "--filter", `label=${LABEL}`).split("\n");
    for (const ref of [...refs, ...labelled, ...made].filter(Boolean)) {
      try {
        docker("rmi", "-f", ref);
      } catch {}
    }
  }, 120_000);

  it("builds from a pasted Dockerfile with COPY and RUN, the output live as the job's lines", async () => {
    const tag = `${PREFIX}built:1`;
    const job = await build(
      `FROM ${TEST_IMAGE}\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt > /copied.txt && echo built-${RUN_ID}\n`,
      {
        files: [{ path: "hello.txt", content: `hello from ${RUN_ID}\n` }],
        tags: [tag],
        labels: { [LABEL_KEY]: RUN_ID },
      },
    );
    expect(job.error).toBeNull();
    expect(job.state).toBe("done");
    expect(job.result).toBe(imageId(tag));
    expect(job.log.some((l) => /^Step 1\/\d : FROM/.test(l))).toBe(true);
    expect(job.log.some((l) => l.includes(`built-${RUN_ID}`))).toBe(true);
    expect(docker("run", "--rm", "--label", RUN_LABEL, tag, "cat", "/copied.txt")).toBe(
      `hello from ${RUN_ID}`,
    );
    expect(docker("image", "inspect", "--format", `{{index .Config.Labels "${LABEL_KEY}"}}`, tag)).toBe(
      RUN_ID,
    );
  }, 240_000);

  it("lists the images as `docker image ls` does, and keeps images:<env> live", async () => {
    const client = new StreamClient(p.url, p.token, ["images:local"]);
    try {
      await client.next((f) => f.t === "images:local" && f.k === "snapshot");
      const tag = `${PREFIX}listed:2`;
      docker("tag", `${PREFIX}built:1`, tag);
      const up = await client.next((f) => f.k === "upsert" && f.d.tags.includes(tag));
      expect(up.d.id).toBe(imageId(tag));

      const cli = docker("image", "ls", "--no-trunc", "--filter", `reference=${PREFIX}*`, "--format", "json")
        .split("\n")
        .map((l) => JSON.parse(l) as { ID: string; Repository: string; Tag: string });
      expect(cli.length).toBeGreaterThanOrEqual(2);
      const list = (await p.api("GET", `${BASE}/images`)).body as {
        id: string;
        tags: string[];
        size: number;
        created: number;
        dangling: boolean;
      }[];
      const panelTags = list.flatMap((i) =>
        i.tags.filter((t) => t.startsWith(PREFIX)).map((t) => `${i.id} ${t}`),
      );
      expect(panelTags.sort()).toEqual(cli.map((c) => `${c.ID} ${c.Repository}:${c.Tag}`).sort());
      for (const c of cli) {
        const mine = list.find((i) => i.id === c.ID)!;
        const [size, created] = docker("image", "inspect", "--format", "{{.Size}} {{.Created}}", c.ID).split(
          " ",
        );
        expect(mine.size).toBe(Number(size));
        expect(mine.created).toBe(Math.floor(Date.parse(created!) / 1000));
        expect(mine.dangling).toBe(false);
      }

      docker("rmi", tag);
      await client.next((f) => f.k === "upsert" && f.d.id === up.d.id && !f.d.tags.includes(tag));
    } finally {
      client.close();
    }
  }, 30_000);

  it("shows a viewer every image, but only the containers it may see using them; a viewer pulls nothing", async () => {
    const made = await p.api("POST", "/api/v1/users", {
      username: `${PREFIX}viewer`,
      password: "viewer-password",
      role: "viewer",
    });
    expect(made.status).toBe(201);
    const token = await tokenFor(
      p.url,
      { username: `${PREFIX}viewer`, password: "viewer-password" },
      "images",
    );
    const as = (path: string, init: RequestInit = {}) =>
      fetch(p.url + path, { ...init, headers: { authorization: `Bearer ${token}`, ...init.headers } });
    const name = uniqueName("other-team");
    docker(
      "run",
      "-d",
      "--name",
      name,
      "--label",
      RUN_LABEL,
      "--label",
      "ghostpanel.team=elsewhere",
      `${PREFIX}built:1`,
      "sleep",
      "3600",
    );
    const id = imageId(`${PREFIX}built:1`);
    type Listed = { id: string; containers: { name: string }[] };
    const usedBy = async (list: Listed[]) => list.find((i) => i.id === id)?.containers.map((c) => c.name);
    await eventually(async () =>
      (await usedBy((await p.api("GET", `${BASE}/images`)).body))?.includes(name) ? true : undefined,
    );
    expect(await usedBy((await (await as(`${BASE}/images`)).json()) as Listed[])).toEqual([]);
    const pulled = await as(`${BASE}/images/pull`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ reference: "x:1" }),
    });
    expect(pulled.status).toBe(403);
    docker("rm", "-f", name);
  }, 60_000);

  it("inspects an image and reads its layer history", async () => {
    const id = imageId(`${PREFIX}built:1`);
    const inspect = await p.api("GET", `${BASE}/images/${id}`);
    expect(inspect.status).toBe(200);
    expect(inspect.body.Id).toBe(id);
    const history = await p.api("GET", `${BASE}/images/${id.slice(7, 19)}/history`);
    expect(history.status).toBe(200);
    const cli = docker("history", "--no-trunc", "--format", "{{json .CreatedBy}}", id)
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(history.body.map((h: { created_by: string }) => h.created_by)).toEqual(cli);
    expect(history.body.some((h: { created_by: string }) => h.created_by.includes(`built-${RUN_ID}`))).toBe(
      true,
    );
    expect((await p.api("GET", `${BASE}/images/sha256:${"0".repeat(64)}`)).status).toBe(404);
    expect((await p.api("GET", `${BASE}/images/not-an-id`)).status).toBe(400);
  });

  it("tags an image, and refuses a reference that is not one", async () => {
    const id = imageId(`${PREFIX}built:1`);
    const tag = `${PREFIX}tagged:v1`;
    expect((await p.api("POST", `${BASE}/images/${id}/tag`, { reference: tag })).status).toBe(204);
    expect(imageId(tag)).toBe(id);
    const bad = await p.api("POST", `${BASE}/images/${id}/tag`, { reference: "UPPER/Case:x" });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/not a valid name/);
    const digest = await p.api("POST", `${BASE}/images/${id}/tag`, {
      reference: `x@sha256:${"a".repeat(64)}`,
    });
    expect(digest.status).toBe(400);
    // Untagging one of several names leaves the image.
    const untag = await p.api("DELETE", `${BASE}/images/${id}?tag=${encodeURIComponent(tag)}`);
    expect(untag.status).toBe(200);
    expect(untag.body.untagged).toEqual([tag]);
    expect(exists(tag)).toBe(false);
    expect(imageId(`${PREFIX}built:1`)).toBe(id);
  });

  it("refuses to remove an image a container uses (409 naming it), removes it with force once it stopped", async () => {
    const job = await build(`FROM ${TEST_IMAGE}\nRUN echo in-use-${RUN_ID} > /f\n`, {
      tags: [`${PREFIX}inuse:1`],
      labels: { [LABEL_KEY]: RUN_ID },
    });
    const id = job.result!;
    const name = uniqueName("user");
    docker("run", "-d", "--name", name, "--label", RUN_LABEL, `${PREFIX}inuse:1`, "sleep", "3600");
    await eventually(async () => {
      const list = (await p.api("GET", `${BASE}/images`)).body as {
        id: string;
        containers: { name: string }[];
      }[];
      return list.find((i) => i.id === id)?.containers.some((c) => c.name === name) ? true : undefined;
    }, 60_000);
    const refused = await p.api("DELETE", `${BASE}/images/${id}`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain(name);
    expect(refused.body.error.message).toMatch(/running/);
    expect((await p.api("DELETE", `${BASE}/images/${id}?force=true`)).status).toBe(409);
    docker("stop", "-t", "0", name);
    await eventually(async () => {
      const res = await p.api("DELETE", `${BASE}/images/${id}`);
      return res.status === 409 && /remove it first, or force/.test(res.body.error.message)
        ? true
        : undefined;
    });
    expect(exists(id)).toBe(true);
    docker("rm", name);
    await eventually(async () =>
      (await p.api("DELETE", `${BASE}/images/${id}`)).status === 200 ? true : undefined,
    );
    expect(exists(id)).toBe(false);
  }, 240_000);

  it("previews a prune limited to a label and prunes exactly that", async () => {
    const pruneLabel = `gptest.prune=${RUN_ID}`;
    const labels = { "gptest.prune": RUN_ID, [LABEL_KEY]: RUN_ID };
    const dangling = (await build(`FROM ${TEST_IMAGE}\nRUN echo dangling-${RUN_ID} > /d\n`, { labels }))
      .result!;
    const tagged = (
      await build(`FROM ${TEST_IMAGE}\nRUN echo tagged-${RUN_ID} > /t\n`, {
        labels,
        tags: [`${PREFIX}prunable:1`],
      })
    ).result!;
    const preview = async (all: boolean) => {
      const res = await p.api(
        "GET",
        `${BASE}/images/prune?label=${encodeURIComponent(pruneLabel)}${all ? "&all=1" : ""}`,
      );
      expect(res.status).toBe(200);
      return res.body as { images: { id: string; size: number }[]; space: number };
    };
    await eventually(async () => ((await preview(false)).images.length === 1 ? true : undefined), 60_000);
    const danglingOnly = await preview(false);
    expect(danglingOnly.images.map((i) => i.id)).toEqual([dangling]);
    expect(danglingOnly.space).toBe(Number(docker("image", "inspect", "--format", "{{.Size}}", dangling)));
    expect((await preview(true)).images.map((i) => i.id).sort()).toEqual([dangling, tagged].sort());

    // The engine runs one prune at a time: another helper's prune on the shared engine is a 409 to retry.
    const prune = (body: object) =>
      eventually(async () => {
        const res = await p.api("POST", `${BASE}/images/prune`, body);
        if (res.status === 409) return undefined;
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return res.body as { removed: string[]; space: number };
      }, 120_000);
    const pruned = await prune({ labels: [pruneLabel] });
    expect(pruned.removed).toContain(dangling);
    expect(pruned.space).toBeGreaterThan(0);
    expect(exists(dangling)).toBe(false);
    expect(exists(tagged)).toBe(true);
    const all = await prune({ all: true, labels: [pruneLabel] });
    expect(all.removed).toContain(tagged);
    expect(exists(tagged)).toBe(false);
    expect(exists(TEST_IMAGE)).toBe(true);
    expect((await p.api("POST", `${BASE}/images/prune`, { labels: ["bad label"] })).status).toBe(400);
  }, 240_000);

  it("exports an image as a tar and loads it back; imports a container's file system as an image", async () => {
    const tag = `${PREFIX}built:1`;
    const id = imageId(tag);
    const res = await fetch(`${p.url}${BASE}/images/get?names=${encodeURIComponent(tag)}`, {
      headers: { authorization: `Bearer ${p.token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toContain(".tar");
    const saved = new Uint8Array(await res.arrayBuffer());
    // Over the 1 MiB JSON bodies are held to: the upload routes have their own limit.
    expect(saved.length).toBeGreaterThan(1024 * 1024);
    docker("rmi", tag);
    expect(exists(id)).toBe(false);
    const loaded = await upload(`${BASE}/images/load`, saved);
    const body = (await loaded.json()) as { job: Job };
    expect(loaded.status, JSON.stringify(body)).toBe(201);
    expect(body.job.result).toContain(tag);
    expect(imageId(tag)).toBe(id);

    // a file system tar: the container's, exported by the engine
    const name = uniqueName("fs");
    docker("create", "--name", name, "--label", RUN_LABEL, tag);
    const fs = new Uint8Array(Bun.spawnSync(["docker", "export", name]).stdout);
    const imported = await upload(
      `${BASE}/images/import?reference=${encodeURIComponent(`${PREFIX}imported:1`)}`,
      fs,
    );
    const ib = (await imported.json()) as { job: Job };
    expect(imported.status, JSON.stringify(ib)).toBe(201);
    expect(ib.job.result).toBe(imageId(`${PREFIX}imported:1`));
    expect(docker("run", "--rm", "--label", RUN_LABEL, `${PREFIX}imported:1`, "cat", "/copied.txt")).toBe(
      `hello from ${RUN_ID}`,
    );

    const junk = await upload(`${BASE}/images/load`, new TextEncoder().encode("not a tar at all"));
    expect(junk.status).toBe(400);
    expect(((await junk.json()) as { error: { message: string } }).error.message).toMatch(/could not load/);
  }, 240_000);

  it("builds from an uploaded context, and refuses build options it does not pass on", async () => {
    const enc = (s: string) => new TextEncoder().encode(s);
    const context = tarOf([
      {
        name: "sub/Containerfile",
        data: enc(`FROM ${TEST_IMAGE}\nARG WHO\nCOPY a.txt /a.txt\nRUN echo "$WHO" >> /a.txt\n`),
      },
      { name: "a.txt", data: enc("from the upload\n") },
    ]);
    const tag = `${PREFIX}uploaded:1`;
    const q = `tag=${encodeURIComponent(tag)}&dockerfile=sub/Containerfile&buildarg=WHO=${RUN_ID}&label=${LABEL}`;
    const res = await upload(`${BASE}/images/build/upload?${q}`, context);
    const body = (await res.json()) as { job: Job };
    expect(res.status, JSON.stringify(body)).toBe(202);
    const job = await ended(body.job.id);
    expect(job.error).toBeNull();
    expect(docker("run", "--rm", "--label", RUN_LABEL, tag, "cat", "/a.txt")).toBe(
      `from the upload\n${RUN_ID}`,
    );

    const hostile = await upload(
      `${BASE}/images/build/upload?networkmode=host&tag=${encodeURIComponent(tag)}`,
      context,
    );
    expect(hostile.status).toBe(400);
    expect(((await hostile.json()) as { error: { message: string } }).error.message).toMatch(/networkmode/);
    const failing = await build(`FROM ${TEST_IMAGE}\nRUN exit 3\n`);
    expect(failing.state).toBe("failed");
    expect(failing.error).toMatch(/non-zero code: 3/);
    const bad = await p.api("POST", `${BASE}/images/build`, {
      dockerfile: "FROM x",
      files: [{ path: "../escape", content: "" }],
    });
    expect(bad.status).toBe(400);
  }, 240_000);

  it("pushes to a registry and pulls back, each layer a step of the job on jobs:<env>, seen by a second viewer", async () => {
    const remote = `${registry.host}/gptest-${RUN_ID}/app:1`;
    // An image of its own, so that removing the tag removes the image and the pull brings its layer back.
    const pushed_ = await build(`FROM ${TEST_IMAGE}\nRUN echo pushed-${RUN_ID} > /p\n`, { tags: [remote] });
    const original = pushed_.result!;
    const viewer = new StreamClient(p.url, p.token, ["jobs:local"]);
    try {
      await viewer.next((f) => f.t === "jobs:local" && f.k === "snapshot");
      const pushed = await p.api("POST", `${BASE}/images/push`, { reference: remote });
      expect(pushed.status).toBe(202);
      const push = await ended(pushed.body.job.id);
      expect(push.error).toBeNull();
      expect(push.steps.length).toBeGreaterThan(0);
      const tags = await (await fetch(`http://${registry.host}/v2/gptest-${RUN_ID}/app/tags/list`)).json();
      expect(tags.tags).toEqual(["1"]);

      docker("rmi", remote);
      expect(exists(original)).toBe(false);
      const pulled = await p.api("POST", `${BASE}/images/pull`, { reference: remote });
      expect(pulled.status).toBe(202);
      expect(pulled.body.job.state).toBe("running");
      const pull = await ended(pulled.body.job.id);
      expect(pull.error).toBeNull();
      expect(pull.steps.length).toBeGreaterThan(0);
      // Layers by their short ids (the first line names the tag being pulled)
      const layers = pull.steps.filter((s) => /^[a-f0-9]{12}$/.test(s.id));
      expect(layers.length).toBeGreaterThan(0);
      expect(layers.every((s) => /complete|exists/i.test(s.status))).toBe(true);
      expect(imageId(remote)).toBe(original);
      expect(docker("run", "--rm", "--label", RUN_LABEL, remote, "cat", "/p")).toBe(`pushed-${RUN_ID}`);
      // The second viewer saw the pull start, move and end on the stream.
      const frames = viewer.frames.filter((f) => f.k === "upsert" && f.d.id === pulled.body.job.id);
      expect(frames.length).toBeGreaterThanOrEqual(2);
      expect(frames.at(-1)!.d.state).toBe("done");
    } finally {
      viewer.close();
    }

    const missing = await p.api("POST", `${BASE}/images/pull`, {
      reference: `${registry.host}/gptest-${RUN_ID}/app:nope`,
    });
    const failed = await ended(missing.body.job.id);
    expect(failed.state).toBe("failed");
    expect(failed.error).toBe(`${registry.host}/gptest-${RUN_ID}/app:nope not found in the registry`);
    const nowhere = await ended(
      (await p.api("POST", `${BASE}/images/pull`, { reference: "127.0.0.1:1/x:1" })).body.job.id,
    );
    expect(nowhere.error).toMatch(/^127\.0\.0\.1:1 cannot be reached/);
    const notLocal = await p.api("POST", `${BASE}/images/push`, {
      reference: `${registry.host}/gptest-${RUN_ID}/none:1`,
    });
    expect(notLocal.status).toBe(404);
    expect((await p.api("POST", `${BASE}/images/pull`, { reference: "Not A Ref" })).status).toBe(400);
  }, 240_000);
});
