import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cleanupEngine,
  docker,
  eventually,
  inVolume,
  manyDirectories,
  PREFIX,
  RUN_ID,
  RUN_LABEL,
  runContainer,
  TEST_IMAGE,
  uniqueName,
} from "../helpers/engine.ts";
import { EngineProxy } from "../helpers/engine-proxy.ts";
import { startTestPanel, type TestPanel, tokenFor } from "../helpers/panel.ts";
import { StreamClient } from "../helpers/stream.ts";
import { tarOf } from "../helpers/tar.ts";

/**
 * Volumes through an in-process panel against the real engine: every answer checked against what
 * the engine has (`docker volume …`, `docker run … sha256sum`), not against what the panel said.
 */

const [labelKey, labelValue] = RUN_LABEL.split("=") as [string, string];
const ALPHA = `vol-alpha-${RUN_ID}`;
const BETA = `vol-beta-${RUN_ID}`;

/**
 * The helper containers the panel made and has not removed, among those mounting this run's
 * volumes (other test files' panels make helpers of their own meanwhile).
 */
const helpers = () =>
  docker(
    "ps",
    "-a",
    "--no-trunc",
    "--filter",
    "label=ghostpanel.helper=volume",
    "--format",
    "{{.ID}} {{.Mounts}}",
  )
    .split("\n")
    .filter((line) => line.includes(PREFIX))
    .map((line) => line.split(" ")[0]!.slice(0, 12));
docker("ps", "-aq", "--filter", "label=ghostpanel.helper=volume").split("\n").filter(Boolean);

/** Every file, link and directory of a volume with its digest, as a container sees it. */
function contentsOf(volume: string): string {
  return inVolume(
    volume,
    "cd /v && find . -type f -exec sha256sum {} + | sort -k2; find . -type l -exec sh -c 'echo link $1 $(readlink $1)' _ {} \\; | sort; find . -type d | sort; find . -type f -links +1 | sort",
    true,
  );
}

/** 160,000 directories in a volume: the engine deletes them one by one before it answers. */
function fill(volume: string): void {
  inVolume(volume, manyDirectories("/v", 160));
}

describe("volumes against the real engine", () => {
  let p: TestPanel;
  const tokens: Record<string, string> = {};
  const as = async (who: string, method: string, path: string, body?: unknown, raw?: Uint8Array) => {
    const headers: Record<string, string> = { authorization: `Bearer ${tokens[who]}` };
    if (body !== undefined) headers["content-type"] = "application/json";
    const res = await fetch(p.url + path, {
      method,
      headers,
      body:
        (raw as BodyInit | undefined) ??
        (body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body)),
    });
    const type = res.headers.get("content-type") ?? "";
    const out = type.includes("json") ? await res.json() : new Uint8Array(await res.arrayBuffer());
    return { status: res.status, body: out as any, headers: res.headers };
  };
  const V = (hint: string) => uniqueName(hint);

  beforeAll(async () => {
    p = await startTestPanel();
    tokens.admin = p.token;
    const users: Record<string, number> = {};
    for (const [name, role] of [
      ["v-alpha", "operator"],
      ["v-beta", "operator"],
      ["v-viewer", "viewer"],
    ] as const) {
      const res = await p.api("POST", "/api/v1/users", { username: name, password: "volumes-pass-1", role });
      expect(res.status).toBe(201);
      users[name] = res.body.id;
      tokens[name] = await tokenFor(p.url, { username: name, password: "volumes-pass-1" }, "t");
    }
    for (const [team, member] of [
      [ALPHA, users["v-alpha"]],
      [BETA, users["v-beta"]],
    ] as const) {
      const made = await p.api("POST", "/api/v1/teams", { name: team });
      expect((await p.api("PUT", `/api/v1/teams/${made.body.id}`, { members: [member] })).status).toBe(200);
    }
  });

  afterAll(async () => {
    await p?.stop();
    cleanupEngine();
    for (const v of docker("volume", "ls", "-q", "--filter", `name=${PREFIX}`).split("\n"))
      if (v) docker("volume", "rm", "-f", v);
  });

  it("lists what `docker volume ls` lists, with who uses each", async () => {
    const plain = V("plain");
    const used = V("used");
    docker("volume", "create", "--label", RUN_LABEL, "--label", "k=v", plain);
    docker("volume", "create", "--label", RUN_LABEL, used);
    const user = uniqueName("user");
    runContainer(user, ["sleep", "3600"], ["-v", `${used}:/data`]);
    const listed = await eventually(async () => {
      const res = await as("admin", "GET", "/api/v1/envs/local/volumes");
      const ours = res.body.filter((v: { name: string }) => v.name.startsWith(PREFIX));
      const usedBy = ours.find((v: { name: string }) => v.name === used)?.used_by ?? [];
      return ours.length >= 2 && usedBy.length === 1 ? ours : undefined;
    });
    const cli = docker("volume", "ls", "--format", "json", "--filter", `name=${PREFIX}`)
      .split("\n")
      .map(
        (l) =>
          JSON.parse(l) as {
            Name: string;
            Driver: string;
            Mountpoint: string;
            Labels: string;
            Scope: string;
          },
      );
    expect(listed.map((v: { name: string }) => v.name).sort()).toEqual(cli.map((v) => v.Name).sort());
    for (const v of cli) {
      const mine = listed.find((l: { name: string }) => l.name === v.Name);
      expect(mine.driver).toBe(v.Driver);
      expect(mine.mountpoint).toBe(v.Mountpoint);
      expect(mine.scope).toBe(v.Scope);
      const labels = Object.fromEntries(
        v.Labels.split(",")
          .filter(Boolean)
          .map((kv) => kv.split("=")),
      );
      expect(mine.labels).toEqual(labels);
    }
    expect(listed.find((v: { name: string }) => v.name === used).used_by).toMatchObject([
      { name: user, state: "running" },
    ]);

    // In use: refused, with who uses it, and still there.
    const removal = await as("admin", "DELETE", `/api/v1/envs/local/volumes/${used}`);
    expect(removal.status).toBe(409);
    expect(removal.body.error.message).toBe(
      `volume "${used}" is used by containers ${user}: remove them first`,
    );
    expect(docker("volume", "inspect", "-f", "{{.Name}}", used)).toBe(used);
    expect((await as("admin", "DELETE", `/api/v1/envs/local/volumes/${plain}`)).status).toBe(204);
    expect(docker("volume", "ls", "-q", "--filter", `name=${plain}`)).toBe("");

    // Sizes: from /system/df, with when.
    const sizes = await as("admin", "GET", "/api/v1/envs/local/volumes/_sizes?refresh=true");
    expect(sizes.status).toBe(200);
    expect(Date.now() - Date.parse(sizes.body.at)).toBeLessThan(60_000);
    expect(sizes.body.sizes[used]).toBeGreaterThanOrEqual(0);
  }, 60_000);

  it("streams the list live: a volume made and a container using it arrive as upserts", async () => {
    const client = new StreamClient(p.url, tokens.admin!, ["volumes:local"]);
    try {
      await client.next((f) => f.t === "volumes:local" && f.k === "snapshot");
      const name = V("live");
      docker("volume", "create", "--label", RUN_LABEL, name);
      await client.next((f) => f.k === "upsert" && f.d.name === name);
      const user = uniqueName("liveuser");
      runContainer(user, ["sleep", "3600"], ["-v", `${name}:/x`]);
      await client.next(
        (f) => f.k === "upsert" && f.d.name === name && f.d.used_by[0]?.name === user,
        10_000,
      );
      docker("rm", "-f", user);
      await client.next((f) => f.k === "upsert" && f.d.name === name && f.d.used_by.length === 0, 10_000);
      docker("volume", "rm", name);
      await client.next((f) => f.k === "remove" && f.d.id === name, 10_000);
    } finally {
      client.close();
    }
  }, 30_000);

  it("creates volumes: names taken are 409, an operator's get its team, hostile bodies are refused", async () => {
    const name = V("made");
    const made = await as("v-alpha", "POST", "/api/v1/envs/local/volumes", {
      Name: name,
      Labels: { [labelKey]: labelValue },
    });
    expect(made.status).toBe(201);
    expect(JSON.parse(docker("volume", "inspect", name))[0].Labels).toEqual({
      [labelKey]: labelValue,
      "ghostpanel.team": ALPHA,
    });
    const again = await as("admin", "POST", "/api/v1/envs/local/volumes", { Name: name });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe(`a volume named "${name}" already exists`);

    const tmpfs = V("tmpfs");
    const t = await as("v-alpha", "POST", "/api/v1/envs/local/volumes", {
      Name: tmpfs,
      DriverOpts: { type: "tmpfs", device: "tmpfs", o: "size=10m,mode=0700" },
    });
    expect(t.status).toBe(201);
    expect(JSON.parse(docker("volume", "inspect", tmpfs))[0].Options).toEqual({
      type: "tmpfs",
      device: "tmpfs",
      o: "size=10m,mode=0700",
    });

    const hostile: [string, number, string][] = [
      // the host's root, as the local driver's options
      [`{"Name":"${V("bind")}","DriverOpts":{"type":"none","o":"bind","device":"/"}}`, 403, "DriverOpts"],
      [`{"Name":"${V("bind2")}","DriverOpts":{"o":"bind","device":"/etc"}}`, 403, "DriverOpts"],
      [`{"Name":"${V("dev")}","DriverOpts":{"device":"/dev/sda1"}}`, 403, "DriverOpts"],
      [
        `{"Name":"${V("nfs")}","DriverOpts":{"type":"nfs","o":"addr=127.0.0.1","device":":/"}}`,
        403,
        "DriverOpts",
      ],
      [`{"Name":"${V("tmpbind")}","DriverOpts":{"type":"tmpfs","device":"/","o":"bind"}}`, 403, "DriverOpts"],
      [`{"Name":"${V("tmpo")}","DriverOpts":{"type":"tmpfs","o":"size=1m,bind"}}`, 403, "DriverOpts"],
      [`{"Name":"${V("drv")}","Driver":"local-persist"}`, 403, "Driver"],
      // keys the engine's decoder would fold to the real ones
      [`{"Name":"${V("case")}","driveropts":{"o":"bind","device":"/"}}`, 400, "driveropts"],
      [`{"Name":"${V("fold")}","DriverOpt\u017f":{"o":"bind","device":"/"}}`, 400, "DriverOpt"],
      [`{"Name":"${V("dup")}","DriverOpts":{},"DriverOpts":{"o":"bind","device":"/"}}`, 400, "given twice"],
      [
        `{"Name":"${V("dupin")}","DriverOpts":{"type":"tmpfs","type":"none","o":"bind","device":"/"}}`,
        400,
        "given twice",
      ],
      [`{"Name":"${V("types")}","DriverOpts":"o=bind,device=/"}`, 400, "DriverOpts"],
      [`{"Name":"${V("types2")}","Labels":["a"]}`, 400, "Labels"],
      [`{"Name":"../etc"}`, 400, "Name"],
      [`{"Name":"${V("team")}","Labels":{"ghostpanel.team":"${BETA}"}}`, 403, BETA],
    ];
    for (const [body, status, says] of hostile) {
      const res = await as("v-alpha", "POST", "/api/v1/envs/local/volumes", body);
      expect(res.status, body).toBe(status);
      expect(res.body.error.message, body).toContain(says);
      const tried = /"Name":"([^"]+)"/.exec(body)![1]!;
      // The engine made nothing of it.
      expect(docker("volume", "ls", "-q", "--filter", `name=^${tried}$`), body).toBe("");
    }
    // An admin may bind what it likes.
    const adminBind = V("adminbind");
    expect(
      (
        await as("admin", "POST", "/api/v1/envs/local/volumes", {
          Name: adminBind,
          DriverOpts: { type: "tmpfs", device: "tmpfs", o: "size=1m,uid=1000" },
          Labels: { "ghostpanel.team": ALPHA },
        })
      ).status,
    ).toBe(201);
    // A viewer makes nothing.
    expect((await as("v-viewer", "POST", "/api/v1/envs/local/volumes", { Name: V("viewer") })).status).toBe(
      403,
    );
  }, 60_000);

  it("keeps each team to its own volumes, and reaching files to operators", async () => {
    const mine = V("alphas");
    const theirs = V("betas");
    docker("volume", "create", "--label", RUN_LABEL, "--label", `ghostpanel.team=${ALPHA}`, mine);
    docker("volume", "create", "--label", RUN_LABEL, "--label", `ghostpanel.team=${BETA}`, theirs);
    await eventually(async () => {
      const res = await as("v-alpha", "GET", "/api/v1/envs/local/volumes");
      return res.body.some((v: { name: string }) => v.name === mine) ? true : undefined;
    });
    const names = async (who: string) =>
      (await as(who, "GET", "/api/v1/envs/local/volumes")).body.map((v: { name: string }) => v.name);
    expect(await names("v-alpha")).toContain(mine);
    expect(await names("v-alpha")).not.toContain(theirs);
    expect(await names("v-viewer")).not.toContain(mine);
    for (const path of ["", "/files", "/file?path=/x", "/backup"]) {
      expect((await as("v-alpha", "GET", `/api/v1/envs/local/volumes/${theirs}${path}`)).status, path).toBe(
        404,
      );
      expect((await as("v-viewer", "GET", `/api/v1/envs/local/volumes/${mine}${path}`)).status, path).toBe(
        path === "" ? 404 : 403,
      );
    }
    expect((await as("v-alpha", "DELETE", `/api/v1/envs/local/volumes/${theirs}`)).status).toBe(404);
    expect(
      (await as("v-alpha", "POST", `/api/v1/envs/local/volumes/${theirs}/restore`, undefined, tarOf([])))
        .status,
    ).toBe(404);
    // Nor by naming it as a new volume to restore into (the engine's create would hand it over).
    docker(
      "run",
      "--rm",
      "--label",
      RUN_LABEL,
      "-v",
      `${theirs}:/d`,
      TEST_IMAGE,
      "sh",
      "-c",
      "echo beta > /d/secret",
    );
    const sneak = await as(
      "v-alpha",
      "POST",
      `/api/v1/envs/local/volumes/${theirs}/restore?create=true&replace=true`,
      undefined,
      tarOf([{ name: "secret", data: "alpha was here" }]),
    );
    expect(sneak.status).toBe(404);
    expect(
      docker("run", "--rm", "--label", RUN_LABEL, "-v", `${theirs}:/d:ro`, TEST_IMAGE, "cat", "/d/secret"),
    ).toBe("beta");
    expect(docker("volume", "inspect", "-f", "{{.Name}}", theirs)).toBe(theirs);
    expect((await as("v-alpha", "GET", `/api/v1/envs/local/volumes/${mine}/files`)).status).toBe(200);
    expect((await as("v-alpha", "GET", "/api/v1/envs/local/volumes/_prune")).status).toBe(403);
    expect((await as("v-alpha", "POST", "/api/v1/envs/local/volumes/_prune")).status).toBe(403);

    // A host directory an admin made into a volume of the team: its files stay out of reach.
    const bound = V("bound");
    docker(
      "volume",
      "create",
      "--label",
      RUN_LABEL,
      "--label",
      `ghostpanel.team=${ALPHA}`,
      "-o",
      "type=none",
      "-o",
      "o=bind",
      "-o",
      "device=/etc",
      bound,
    );
    for (const [method, path] of [
      ["GET", "/files"],
      ["GET", "/backup"],
      ["GET", "/file?path=/hostname"],
    ] as const) {
      const res = await as("v-alpha", method, `/api/v1/envs/local/volumes/${bound}${path}`);
      expect(res.status, path).toBe(403);
      expect(res.body.error.code).toBe("engine_safety");
    }
    const restore = await as(
      "v-alpha",
      "POST",
      `/api/v1/envs/local/volumes/${bound}/restore`,
      undefined,
      tarOf([{ name: "gptest-x", data: "x" }]),
    );
    expect(restore.status).toBe(403);
    expect(helpers()).toEqual([]);
  }, 60_000);

  it("browses and downloads files read-only, and never shows its helper containers", async () => {
    const name = V("browse");
    docker("volume", "create", "--label", RUN_LABEL, name);
    docker(
      "run",
      "--rm",
      "--label",
      RUN_LABEL,
      "-v",
      `${name}:/d`,
      TEST_IMAGE,
      "sh",
      "-c",
      "mkdir -p /d/sub/deeper && echo hello > /d/greeting.txt && head -c 300000 /dev/urandom > /d/sub/blob && ln -s greeting.txt /d/link && touch /d/sub/deeper/x",
    );
    const root = await as("admin", "GET", `/api/v1/envs/local/volumes/${name}/files?path=/`);
    expect(root.status).toBe(200);
    expect(root.body.capped).toBe(false);
    expect(root.body.entries.map((e: { name: string; type: string }) => `${e.type}:${e.name}`)).toEqual([
      "dir:sub",
      "file:greeting.txt",
      "symlink:link",
    ]);
    expect(root.body.entries.find((e: { name: string }) => e.name === "link").link).toBe("greeting.txt");
    const sub = await as("admin", "GET", `/api/v1/envs/local/volumes/${name}/files?path=sub/../sub`);
    expect(sub.body.path).toBe("/sub");
    expect(sub.body.entries.map((e: { name: string }) => e.name)).toEqual(["deeper", "blob"]);
    expect((await as("admin", "GET", `/api/v1/envs/local/volumes/${name}/files?path=/nothere`)).status).toBe(
      404,
    );
    expect(
      (await as("admin", "GET", `/api/v1/envs/local/volumes/${name}/files?path=/greeting.txt`)).status,
    ).toBe(400);
    // Climbing out is cleaned to the root, not a way out.
    const climb = await as("admin", "GET", `/api/v1/envs/local/volumes/${name}/files?path=../../../etc`);
    expect(climb.status).toBe(404);

    const file = await as("admin", "GET", `/api/v1/envs/local/volumes/${name}/file?path=/sub/blob`);
    expect(file.status).toBe(200);
    expect(file.headers.get("content-disposition")).toContain('filename="blob"');
    const expected = docker(
      "run",
      "--rm",
      "--label",
      RUN_LABEL,
      "-v",
      `${name}:/d:ro`,
      TEST_IMAGE,
      "sha256sum",
      "/d/sub/blob",
    ).split(" ")[0];
    expect(new Bun.CryptoHasher("sha256").update(file.body).digest("hex")).toBe(expected);
    expect((await as("admin", "GET", `/api/v1/envs/local/volumes/${name}/file?path=/sub`)).status).toBe(400);
    expect((await as("admin", "GET", `/api/v1/envs/local/volumes/${name}/file?path=/link`)).status).toBe(400);
    expect(helpers()).toEqual([]);

    // A download the browser drops half-way: its helper goes too. And while one runs, no list shows it.
    const big = V("big");
    docker("volume", "create", "--label", RUN_LABEL, big);
    docker(
      "run",
      "--rm",
      "--label",
      RUN_LABEL,
      "-v",
      `${big}:/d`,
      TEST_IMAGE,
      "sh",
      "-c",
      "head -c 50000000 /dev/urandom > /d/big",
    );
    const abort = new AbortController();
    const res = await fetch(`${p.url}/api/v1/envs/local/volumes/${big}/backup`, {
      headers: { authorization: `Bearer ${tokens.admin}` },
      signal: abort.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    expect(helpers().length).toBe(1);
    const listed = await as("admin", "GET", "/api/v1/envs/local/containers");
    expect(listed.body.map((c: { id: string }) => c.id.slice(0, 12))).not.toContain(helpers()[0]);
    const vols = await as("admin", "GET", "/api/v1/envs/local/volumes");
    expect(vols.body.find((v: { name: string }) => v.name === big).used_by).toEqual([]);
    abort.abort();
    await eventually(() => (helpers().length === 0 ? true : undefined), 10_000, "the helper to go");
  }, 60_000);

  it("backs up, wipes and restores a volume byte for byte (new and existing volumes)", async () => {
    const name = V("data");
    docker("volume", "create", "--label", RUN_LABEL, name);
    docker(
      "run",
      "--rm",
      "--label",
      RUN_LABEL,
      "-v",
      `${name}:/d`,
      TEST_IMAGE,
      "sh",
      "-c",
      [
        "mkdir -p /d/a/b/c /d/empty-dir",
        "head -c 2000000 /dev/urandom > /d/a/b/c/binary.bin",
        ": > /d/empty-file",
        "printf 'caf\\xc3\\xa9' > /d/a/unicode-é.txt",
        "ln -s a/b/c/binary.bin /d/rel-link",
        "ln -s ../../empty-file /d/a/b/up-link",
        "ln /d/a/b/c/binary.bin /d/hard-link",
        "chmod 600 /d/empty-file",
      ].join(" && "),
    );
    const before = contentsOf(name);
    expect(before).toContain("binary.bin");
    expect(before).toContain("link ./rel-link a/b/c/binary.bin");

    const backup = await as("admin", "GET", `/api/v1/envs/local/volumes/${name}/backup`);
    expect(backup.status).toBe(200);
    expect(backup.headers.get("content-type")).toBe("application/gzip");
    const gz = backup.body as Uint8Array;
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    expect(helpers()).toEqual([]);

    // Wiped: the volume gone altogether, then made again by the restore.
    docker("volume", "rm", name);
    const fresh = await as(
      "admin",
      "POST",
      `/api/v1/envs/local/volumes/${name}/restore?create=true`,
      undefined,
      gz,
    );
    expect(fresh.status, JSON.stringify(fresh.body)).toBe(200);
    expect(fresh.body).toMatchObject({ volume: name, created: true, verified: true, files: 4, symlinks: 2 });
    expect(contentsOf(name)).toBe(before);

    // Into an existing volume holding other things: replace empties it first.
    const other = V("other");
    docker("volume", "create", "--label", RUN_LABEL, other);
    docker(
      "run",
      "--rm",
      "--label",
      RUN_LABEL,
      "-v",
      `${other}:/d`,
      TEST_IMAGE,
      "sh",
      "-c",
      "echo junk > /d/junk && mkdir /d/a && echo old > /d/a/unicode-é.txt",
    );
    const merged = await as(
      "admin",
      "POST",
      `/api/v1/envs/local/volumes/${other}/restore?replace=true`,
      undefined,
      gz,
    );
    expect(merged.status, JSON.stringify(merged.body)).toBe(200);
    expect(contentsOf(other)).toBe(before);
    expect(JSON.parse(docker("volume", "inspect", other))[0].Labels).toEqual({ [labelKey]: labelValue });

    // An operator restores into a volume it names: made with its team, nothing else needed.
    const theirs = V("alpha-restored");
    const byOperator = await as(
      "v-alpha",
      "POST",
      `/api/v1/envs/local/volumes/${theirs}/restore?create=true`,
      undefined,
      gz,
    );
    expect(byOperator.status, JSON.stringify(byOperator.body)).toBe(200);
    expect(JSON.parse(docker("volume", "inspect", theirs))[0].Labels).toEqual({ "ghostpanel.team": ALPHA });
    expect(contentsOf(theirs)).toBe(before);

    // Not while a running container writes in it.
    const user = uniqueName("writer");
    runContainer(user, ["sleep", "3600"], ["-v", `${other}:/d`]);
    await eventually(async () => {
      const v = (await as("admin", "GET", "/api/v1/envs/local/volumes")).body.find(
        (x: { name: string }) => x.name === other,
      );
      return v?.used_by.length ? true : undefined;
    });
    const busy = await as("admin", "POST", `/api/v1/envs/local/volumes/${other}/restore`, undefined, gz);
    expect(busy.status).toBe(409);
    expect(busy.body.error.message).toContain(user);
    expect(helpers()).toEqual([]);
  }, 120_000);

  it("refuses hostile archives before the engine writes them, and nothing leaves the volume", async () => {
    const name = V("target");
    docker("volume", "create", "--label", RUN_LABEL, "--label", `ghostpanel.team=${ALPHA}`, name);
    const escaped = `gptest-escape-${RUN_ID}`;
    const cases: [string, Uint8Array, string][] = [
      ["dot-dot", tarOf([{ name: `../../../../../../tmp/${escaped}`, data: "x" }]), "leaves the volume"],
      ["absolute", tarOf([{ name: `/tmp/${escaped}`, data: "x" }]), "leaves the volume"],
      ["inner dot-dot", tarOf([{ name: "a/../../x", data: "x" }]), "leaves the volume"],
      [
        "symlink out",
        tarOf([
          { name: "out", type: "2", linkname: "/tmp" },
          { name: `out/${escaped}`, data: "x" },
        ]),
        "points out",
      ],
      ["symlink climbing", tarOf([{ name: "up", type: "2", linkname: "../../../../tmp" }]), "points out"],
      [
        "symlink through symlink",
        tarOf([
          { name: "d", type: "5" },
          { name: "d/s", type: "2", linkname: ".." },
          { name: "l", type: "2", linkname: "d/s/.." },
        ]),
        "points out",
      ],
      ["hard link out", tarOf([{ name: "h", type: "1", linkname: "/etc/shadow" }]), "hard link"],
      ["hard link up", tarOf([{ name: "h", type: "1", linkname: "../../../etc/shadow" }]), "hard link"],
      ["block device", tarOf([{ name: "sda", type: "4", devmajor: 8, devminor: 0 }]), "device"],
      ["char device", tarOf([{ name: "mem", type: "3", devmajor: 1, devminor: 1 }]), "device"],
      ["fifo", tarOf([{ name: "pipe", type: "6" }]), "fifo"],
      ["not a tar", new TextEncoder().encode("hello, this is not an archive".repeat(40)), "not a tar"],
      ["empty", new Uint8Array(), "body"],
    ];
    for (const [what, body, says] of cases) {
      const res = await as("v-alpha", "POST", `/api/v1/envs/local/volumes/${name}/restore`, undefined, body);
      expect(res.status, what).toBe(400);
      expect(res.body.error.message, what).toContain(says);
    }
    // The host's /tmp, and the volume: nothing of it arrived anywhere.
    expect(Bun.spawnSync(["sh", "-c", `ls /tmp/${escaped} 2>/dev/null`]).stdout.toString()).toBe("");
    expect(
      docker("run", "--rm", "--label", RUN_LABEL, "-v", `${name}:/d:ro`, TEST_IMAGE, "ls", "-A", "/d"),
    ).toBe("");
    // The gzip of a hostile tar is read the same way.
    const gz = Bun.gzipSync(
      tarOf([
        { name: "ok", data: "fine" },
        { name: "sda", type: "4", devmajor: 8 },
      ]),
    );
    const zipped = await as("v-alpha", "POST", `/api/v1/envs/local/volumes/${name}/restore`, undefined, gz);
    expect(zipped.status).toBe(400);
    expect(
      docker("run", "--rm", "--label", RUN_LABEL, "-v", `${name}:/d:ro`, TEST_IMAGE, "ls", "-A", "/d"),
    ).not.toContain("sda");
    // A restore into a new volume that fails leaves no volume behind, half-written or not (the
    // engine has written a truncated entry's first bytes by the time the upload is seen to end).
    for (const [what, body, says] of [
      [
        "refused",
        tarOf([
          { name: "ok", data: "x" },
          { name: "/etc/x", data: "x" },
        ]),
        "leaves the volume",
      ],
      ["truncated", tarOf([{ name: "f", data: "y".repeat(5000) }]).slice(0, 1500), "ends in the middle"],
    ] as const) {
      const failed = V("failed-new");
      const res = await as(
        "v-alpha",
        "POST",
        `/api/v1/envs/local/volumes/${failed}/restore?create=true`,
        undefined,
        body,
      );
      expect(res.status, what).toBe(400);
      expect(res.body.error.message, what).toContain(says);
      expect(docker("volume", "ls", "-q", "--filter", `name=^${failed}$`), what).toBe("");
    }
    expect(helpers()).toEqual([]);
  }, 60_000);

  it("prunes only unused volumes, shown first; admins only", async () => {
    const label = `gptest-prune=${RUN_ID}`;
    const unused = V("unused");
    const kept = V("kept");
    docker("volume", "create", "--label", RUN_LABEL, "--label", label, unused);
    docker("volume", "create", "--label", RUN_LABEL, "--label", label, kept);
    runContainer(uniqueName("keeper"), ["sleep", "3600"], ["-v", `${kept}:/k`]);
    await eventually(async () => {
      const res = await as("admin", "GET", "/api/v1/envs/local/volumes");
      return res.body.find((v: { name: string }) => v.name === kept)?.used_by.length ? true : undefined;
    });
    const preview = await as(
      "admin",
      "GET",
      `/api/v1/envs/local/volumes/_prune?label=${encodeURIComponent(label)}`,
    );
    expect(preview.status).toBe(200);
    expect(preview.body.volumes.map((v: { name: string }) => v.name)).toEqual([unused]);
    const pruned = await as(
      "admin",
      "POST",
      `/api/v1/envs/local/volumes/_prune?label=${encodeURIComponent(label)}`,
    );
    expect(pruned.status).toBe(200);
    expect(pruned.body.deleted).toEqual([unused]);
    expect(docker("volume", "ls", "-q", "--filter", `label=${label}`)).toBe(kept);
  }, 30_000);

  it("answers a removal while the engine deletes a big volume, past the server's 10 s idle time", async () => {
    const name = V("big");
    docker("volume", "create", "--label", RUN_LABEL, name);
    fill(name);
    const started = Date.now();
    const removed = await as("admin", "DELETE", `/api/v1/envs/local/volumes/${name}`);
    expect(removed.status).toBe(204);
    expect(Date.now() - started).toBeGreaterThan(10_000);
    expect(docker("volume", "ls", "-q").split("\n")).not.toContain(name);
  }, 120_000);

  it("answers a prune while the engine deletes a big volume, past the server's 10 s idle time", async () => {
    const label = `gptest-prune-big=${RUN_ID}`;
    const name = V("bigprune");
    docker("volume", "create", "--label", RUN_LABEL, "--label", label, name);
    fill(name);
    const started = Date.now();
    const pruned = await as(
      "admin",
      "POST",
      `/api/v1/envs/local/volumes/_prune?label=${encodeURIComponent(label)}`,
    );
    expect(pruned.status).toBe(200);
    expect(pruned.body.deleted).toEqual([name]);
    expect(Date.now() - started).toBeGreaterThan(10_000);
  }, 120_000);

  it("works on a remote engine (tcp), importing its helper image when the engine has none", async () => {
    const proxy = new EngineProxy(`/tmp/${PREFIX}vol.sock`, undefined, { tcp: true });
    await proxy.start();
    const remote = await startTestPanel(["--engine", proxy.tcpUrl]);
    try {
      // No helper of this branch may be running now (the tests above ran one at a time): the image can go.
      expect(helpers()).toEqual([]);
      Bun.spawnSync(["docker", "rmi", "ghostpanel/volume-helper:1"]);
      const name = V("remote");
      docker("volume", "create", "--label", RUN_LABEL, name);
      docker(
        "run",
        "--rm",
        "--label",
        RUN_LABEL,
        "-v",
        `${name}:/d`,
        TEST_IMAGE,
        "sh",
        "-c",
        "mkdir /d/x && head -c 70000 /dev/urandom > /d/x/r",
      );
      const before = contentsOf(name);
      const backup = await fetch(`${remote.url}/api/v1/envs/local/volumes/${name}/backup`, {
        headers: { authorization: `Bearer ${remote.token}` },
      });
      expect(backup.status).toBe(200);
      const gz = new Uint8Array(await backup.arrayBuffer());
      expect(JSON.parse(docker("image", "inspect", "ghostpanel/volume-helper:1"))[0].Config.Labels).toEqual({
        "ghostpanel.helper": "volume",
      });
      docker("volume", "rm", name);
      const restored = await fetch(`${remote.url}/api/v1/envs/local/volumes/${name}/restore?create=true`, {
        method: "POST",
        headers: { authorization: `Bearer ${remote.token}` },
        body: gz,
      });
      expect(restored.status, await restored.clone().text()).toBe(200);
      expect(contentsOf(name)).toBe(before);
      expect(proxy.requests.some((r) => r.includes("/archive"))).toBe(true);
    } finally {
      await remote.stop();
      await proxy.stop();
    }
    expect(helpers()).toEqual([]);
  }, 60_000);
});
