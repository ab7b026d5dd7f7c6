import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BinaryPanel, startBinary } from "../helpers/binary.ts";
import {
  cleanupEngine,
  docker,
  eventually,
  RUN_ID,
  RUN_LABEL,
  runContainer,
  TEST_IMAGE,
  uniqueName,
} from "../helpers/engine.ts";
import { ADMIN, tokenFor } from "../helpers/panel.ts";

/**
 * An operator attacks the create route of the BUILT binary with bodies the check was not written
 * for, and what counts is what the ENGINE made of them (`docker inspect`), not what the panel said.
 */
describe("create bodies an attacker writes, against the built binary and the real engine", () => {
  let panel: BinaryPanel;
  let admin = "";
  let red = "";
  const redTeam = `red-${RUN_ID}`;
  const blueTeam = `blue-${RUN_ID}`;
  const blueVolume = `${uniqueName("bluevol")}`;
  let victim = "";
  const RISKY = uniqueName("risky");
  const [labelKey, labelValue] = RUN_LABEL.split("=") as [string, string];
  // Under /run (root's, 0755) so that what is listed can be proven; /tmp never can.
  const dir = mkdtempSync("/run/gptest-attack-");

  const api = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(panel.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  /** Sends the body as written (duplicates and all) and says what the engine was left with. */
  const attack = async (text: string) => {
    const res = await fetch(`${panel.url}/api/v1/envs/local/containers`, {
      method: "POST",
      headers: { authorization: `Bearer ${red}`, "content-type": "application/json" },
      body: text,
    });
    const answer = (await res.json()) as { id?: string; error?: { code: string; message: string } };
    return { status: res.status, answer };
  };
  const inspect = (id: string) => JSON.parse(docker("inspect", id))[0];

  beforeAll(async () => {
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "shared"));
    mkdirSync(join(dir, "shared", "below"));
    symlinkSync("/", join(dir, "root-link"));
    panel = await startBinary(["--tls", "off"]);
    admin = await tokenFor(panel.url, ADMIN, "admin", "setup");
    for (const [username, team] of [
      ["red-ops", redTeam],
      ["blue-ops", blueTeam],
    ] as const) {
      const user = await api(admin, "POST", "/api/v1/users", {
        username,
        password: "attack-pass-1",
        role: "operator",
      });
      expect(user.status).toBe(201);
      const made = await api(admin, "POST", "/api/v1/teams", { name: team });
      expect(made.status).toBe(201);
      expect(
        (await api(admin, "PUT", `/api/v1/teams/${made.body.id}`, { members: [user.body.id] })).status,
      ).toBe(200);
    }
    red = await tokenFor(panel.url, { username: "red-ops", password: "attack-pass-1" }, "red");
    docker("volume", "create", "--label", `ghostpanel.team=${blueTeam}`, "--label", RUN_LABEL, blueVolume);
    victim = runContainer(
      uniqueName("victim"),
      ["sleep", "3600"],
      ["--label", `ghostpanel.team=${blueTeam}`],
    );
    // Red's own, made by an admin with the host's / and namespaces.
    runContainer(
      RISKY,
      ["sleep", "3600"],
      [
        ...["--label", `ghostpanel.team=${redTeam}`, "-v", "/:/host:ro"],
        ...["--network", "host", "--pid", "host", "--ipc", "shareable"],
      ],
    );
    // Binds of exactly this path are allowed; everything below it and beside it is not.
    expect(
      (
        await api(admin, "PUT", "/api/v1/settings/security", {
          allow_privileged: false,
          allow_host_namespaces: false,
          allow_devices: false,
          allow_capabilities: false,
          allowed_bind_paths: [join(dir, "shared"), join(dir, "root-link"), join(dir, "not-yet")],
        })
      ).status,
    ).toBe(200);
  });

  afterAll(async () => {
    await panel?.stop();
    cleanupEngine();
    for (const v of docker("volume", "ls", "-q", "--filter", `label=ghostpanel.team=${redTeam}`).split("\n"))
      if (v) docker("volume", "rm", "-f", v);
    docker("volume", "rm", "-f", blueVolume);
    rmSync(dir, { recursive: true, force: true });
  });

  const body = (fields: string, name = uniqueName("atk")) =>
    `{"name":"${name}","Image":"${TEST_IMAGE}","Cmd":["sleep","60"],"Labels":{"${labelKey}":"${labelValue}"},${fields}}`;

  it("refuses every known way out, and the engine never sees the body", async () => {
    const hostile = [
      // keys the check never saw: private client keys, other cases, Unicode folding, duplicates, wrong types
      `"_body":{"Image":"${TEST_IMAGE}","HostConfig":{"Privileged":true}}`,
      `"_query":{"name":"x"}`,
      `"authconfig":{"username":"x"}`,
      `"hostconfig":{"Privileged":true}`,
      `"HostConfig":{"PRIVILEGED":true}`,
      `"HoſtConfig":{"Privileged":true}`,
      `"HostConfig":{"Privileged":false,"Privileged":true}`,
      `"HostConfig":{},"HostConfig":{"Privileged":true}`,
      `"HostConfig":{"CapAdd":"SYS_ADMIN"}`,
      `"HostConfig":{"Binds":"/:/host"}`,
      `"HostConfig":{"\\u0050rivileged":false,"Privileged":true}`,
      // surfaces the old check did not cover
      `"HostConfig":{"Mounts":[{"Type":"bind","Source":"/","Target":"/host"}]}`,
      `"HostConfig":{"Mounts":[{"Type":"volume","Target":"/host","VolumeOptions":{"DriverConfig":{"Name":"local","Options":{"type":"none","o":"bind","device":"/"}}}}]}`,
      `"HostConfig":{"SecurityOpt":["seccomp={\\"defaultAction\\":\\"SCMP_ACT_ALLOW\\"}"]}`,
      `"HostConfig":{"SecurityOpt":["label=disable"]}`,
      `"HostConfig":{"SecurityOpt":["apparmor=unconfined"]}`,
      `"HostConfig":{"MaskedPaths":[],"ReadonlyPaths":[]}`,
      `"HostConfig":{"Sysctls":{"kernel.shm_rmid_forced":"1"}}`,
      `"HostConfig":{"CgroupParent":"/"}`,
      `"HostConfig":{"Runtime":"nope"}`,
      `"WorkingDir":"/proc/self/fd/8"`,
      `"WorkingDir":"/tmp/../proc/self/fd/8"`,
      `"HostConfig":{"Binds":["redvol-${RUN_ID}:/tmp/../dev"]}`,
      `"HostConfig":{"Mounts":[{"Type":"tmpfs","Target":"/dev/shm/../../proc/sys"}]}`,
      `"Volumes":{"/./proc/rt":{}}`,
      `"HostConfig":{"NetworkMode":"rt-q/../${uniqueName("net")}"}`,
      `"NetworkingConfig":{"EndpointsConfig":{"rt-q/../x":{}}}`,

      `"HostConfig":{"Mounts":[{"Type":"tmpfs","Target":"/proc/sys"}]}`,
      `"HostConfig":{"OomScoreAdj":-1000}`,
      `"HostConfig":{"DeviceCgroupRules":["a *:* rwm"]}`,
      `"HostConfig":{"LogConfig":{"Type":"syslog","Config":{"syslog-address":"udp://127.0.0.1:9"}}}`,
      `"HostConfig":{"Privileged":true}`,
      `"HostConfig":{"PidMode":"host"}`,
      `"HostConfig":{"NetworkMode":"host"}`,
      `"HostConfig":{"CapAdd":["SYS_ADMIN"]}`,
      `"HostConfig":{"Devices":[{"PathOnHost":"/dev/mem","PathInContainer":"/dev/mem","CgroupPermissions":"rwm"}]}`,
      `"HostConfig":{"Binds":["/etc:/host-etc:ro"]}`,
      // another team's containers and volumes
      `"HostConfig":{"PidMode":"container:${victim}"}`,
      `"HostConfig":{"NetworkMode":"container:${victim}"}`,
      `"HostConfig":{"IpcMode":"container:${victim}"}`,
      `"HostConfig":{"VolumesFrom":["${victim}"]}`,
      `"HostConfig":{"Links":["${victim}:db"]}`,
      `"HostConfig":{"Binds":["${blueVolume}:/stolen"]}`,
      `"HostConfig":{"Mounts":[{"Type":"volume","Source":"${blueVolume}","Target":"/stolen"}]}`,
      `"NetworkingConfig":{"EndpointsConfig":{"host":{}}}`,
      // host paths that cannot be proven at the moment the engine mounts them
      `"HostConfig":{"Binds":["${dir}/shared/below:/x"]}`,
      `"HostConfig":{"Binds":["${dir}/root-link:/x"]}`,
      `"HostConfig":{"Binds":["${dir}/not-yet:/x"]}`,
      `"HostConfig":{"Binds":["${dir}/shared/../root-link:/x"]}`,
      `"HostConfig":{"Binds":["${dir}/shared:/x:rshared"]}`,
    ];
    for (const fields of hostile) {
      const name = uniqueName("atk");
      const text = body(fields, name);
      const { status, answer } = await attack(text);
      expect([400, 403], `${fields} → ${status} ${JSON.stringify(answer)}`).toContain(status);
      expect(answer.error?.message, fields).toBeTruthy();
      expect(docker("ps", "-aq", "--filter", `name=^/${name}$`), fields).toBe("");
    }
    expect((await fetch(`${panel.url}/healthz`)).status).toBe(200);
  }, 60_000);

  it("does not lend a container of the caller's own team that an admin gave the host", async () => {
    await eventually(async () => {
      const list = await api(red, "GET", "/api/v1/envs/local/containers");
      return list.body.some((c: { name: string }) => c.name === RISKY) ? true : undefined;
    });
    for (const fields of [
      `"HostConfig":{"VolumesFrom":["${RISKY}:ro"]}`,
      `"HostConfig":{"NetworkMode":"container:${RISKY}"}`,
      `"HostConfig":{"PidMode":"container:${RISKY}"}`,
      `"HostConfig":{"IpcMode":"container:${RISKY}"}`,
    ]) {
      const name = uniqueName("borrow");
      const { status, answer } = await attack(body(fields, name));
      expect(status, fields).toBe(403);
      expect(answer.error?.message, fields).toContain("could not ask for");
      expect(docker("ps", "-aq", "--filter", `name=^/${name}$`), fields).toBe("");
    }
  });

  it("lets through what is safe, and the engine got exactly that", async () => {
    const ok = await attack(
      body(
        `"HostConfig":{"Binds":["${dir}/shared:/shared:ro","redvol-${RUN_ID}:/data"],"Memory":67108864,"SecurityOpt":["no-new-privileges"],"CapDrop":["ALL"]}`,
      ),
    );
    expect(ok.status, JSON.stringify(ok.answer)).toBe(201);
    const made = inspect(ok.answer.id!);
    expect(made.HostConfig.Binds).toEqual([`${dir}/shared:/shared:ro`, `redvol-${RUN_ID}:/data`]);
    expect(made.HostConfig.Memory).toBe(67108864);
    expect(made.Config.Labels["ghostpanel.team"]).toBe(redTeam);
    // The volume the engine would have made unlabelled was made first, for the creator's team.
    expect(docker("volume", "inspect", "-f", '{{index .Labels "ghostpanel.team"}}', `redvol-${RUN_ID}`)).toBe(
      redTeam,
    );
  });

  it("says a name is taken without quoting the other team's container id", async () => {
    const victimName = docker("inspect", "-f", "{{.Name}}", victim).slice(1);
    const { status, answer } = await attack(
      `{"name":"${victimName}","Image":"${TEST_IMAGE}","Labels":{"${labelKey}":"${labelValue}"}}`,
    );
    expect(status).toBe(409);
    expect(answer.error?.message).not.toContain(victim.slice(0, 12));
  });

  it("fuzzed: whatever mix of dangerous fields, casings, foldings, duplicates and types, the engine ends up with none of them", async () => {
    const dangerous: [string, string][] = [
      ["Privileged", "true"],
      ["PidMode", '"host"'],
      ["NetworkMode", '"host"'],
      ["IpcMode", '"host"'],
      ["UTSMode", '"host"'],
      ["UsernsMode", '"host"'],
      ["CapAdd", '["SYS_ADMIN"]'],
      ["CapAdd", '"SYS_ADMIN"'],
      ["Binds", '["/:/host"]'],
      ["Binds", '"/:/host"'],
      ["Mounts", '[{"Type":"bind","Source":"/","Target":"/host"}]'],
      ["SecurityOpt", '["seccomp=unconfined"]'],
      ["SecurityOpt", '["apparmor=unconfined"]'],
      ["MaskedPaths", "[]"],
      ["Devices", '[{"PathOnHost":"/dev/mem","PathInContainer":"/dev/mem","CgroupPermissions":"rwm"}]'],
      ["CgroupParent", '"/"'],
      ["Sysctls", '{"kernel.shm_rmid_forced":"1"}'],
      ["PidMode", `"container:${victim}"`],
      ["VolumesFrom", `["${victim}"]`],
      ["OomScoreAdj", "-1000"],
    ];
    const casing = fc.constantFrom<(k: string) => string>(
      (k) => k,
      (k) => k.toLowerCase(),
      (k) => k.toUpperCase(),
      (k) => k.replace(/s/g, "ſ").replace(/k/g, "K"),
      (k) => `${k.slice(0, 1).toLowerCase()}${k.slice(1)}`,
    );
    const placement = fc.constantFrom("host", "top", "private", "duplicate", "nested-dup");
    const harmless: [string, string][] = [
      ["Memory", "67108864"],
      ["CapDrop", '["ALL"]'],
      ["SecurityOpt", '["no-new-privileges"]'],
      ["Tmpfs", '{"/run":""}'],
    ];
    const entry = fc.oneof(
      fc.record({ field: fc.constantFrom(...dangerous), casing, placement }),
      // Written as the API names them, so that some bodies pass and the engine's result is looked at.
      fc.record({
        field: fc.constantFrom(...harmless),
        casing: fc.constant((k: string) => k),
        placement: fc.constant("host"),
      }),
    );
    const created: string[] = [];
    await fc.assert(
      fc.asyncProperty(fc.array(entry, { minLength: 1, maxLength: 4 }), async (entries) => {
        const host: string[] = [];
        const top: string[] = [];
        for (const { field, casing: c, placement: where } of entries) {
          const [key, value] = field;
          const k = c(key);
          if (where === "host") host.push(`"${k}":${value}`);
          else if (where === "top") top.push(`"${k}":${value}`);
          else if (where === "private") top.push(`"_body":{"HostConfig":{"${key}":${value}}}`);
          else if (where === "duplicate") host.push(`"${k}":null`, `"${k}":${value}`);
          else top.push(`"${c("HostConfig")}":{"${key}":${value}}`);
        }
        const name = uniqueName("fuzz");
        const text = `{"name":"${name}","Image":"${TEST_IMAGE}","Cmd":["sleep","60"],"Labels":{"${labelKey}":"${labelValue}"},${[`"HostConfig":{${host.join(",")}}`, ...top].join(",")}}`;
        const { status, answer } = await attack(text);
        if (status === 201) {
          created.push(answer.id!);
          const hc = inspect(answer.id!).HostConfig;
          expect(hc.Privileged, text).toBe(false);
          for (const mode of ["PidMode", "NetworkMode", "IpcMode", "UTSMode", "UsernsMode"])
            expect(String(hc[mode] ?? ""), text).not.toMatch(/^(host|container:)/);
          expect(hc.CapAdd ?? [], text).toEqual([]);
          expect(hc.Devices ?? [], text).toEqual([]);
          expect(hc.Binds ?? [], text).toEqual([]);
          expect(hc.Mounts ?? [], text).toEqual([]);
          for (const opt of hc.SecurityOpt ?? []) expect(opt, text).toMatch(/^no-new-privileges/);
          expect((hc.MaskedPaths ?? []).length, text).toBeGreaterThan(0);
          expect(hc.CgroupParent ?? "", text).toBe("");
          expect(hc.Sysctls ?? {}, text).toEqual({});
          expect(hc.VolumesFrom ?? [], text).toEqual([]);
          expect(hc.OomScoreAdj ?? 0, text).toBeGreaterThanOrEqual(0);
        } else {
          expect([400, 403], `${text} → ${status}`).toContain(status);
          expect(docker("ps", "-aq", "--filter", `name=^/${name}$`), text).toBe("");
        }
      }),
      { numRuns: 150 },
    );
    // The property looked at the engine's result, not only at refusals.
    expect(created.length).toBeGreaterThan(0);
    docker("rm", "-f", ...created);
    expect((await fetch(`${panel.url}/healthz`)).status).toBe(200);
  }, 120_000);
});
