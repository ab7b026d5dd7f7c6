import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDockerRun, toDockerRun } from "../../web/features/containers/create/docker-run.ts";
import {
  type CreateSpec,
  emptySpec,
  SpecError,
  toCreateBody,
} from "../../web/features/containers/create/spec.ts";

describe("docker run lines", () => {
  it("reads a line as a shell would, every flag into its field", () => {
    const { spec, ignored } = parseDockerRun(
      `sudo docker run -dit --name web -e "GREETING=hello world" -e PATH_EXTRA='$HOME/bin' \\
        -p 127.0.0.1:8080:80 -p 53:53/udp -v data:/var/lib/data -v /srv/conf:/etc/conf:ro \\
        --mount type=tmpfs,target=/tmp --restart=on-failure:3 --cpus 1.5 -m 256m --pids-limit 100 \\
        -l team=red --label tier=web --health-cmd "wget -q -O- localhost || exit 1" --health-interval 30s \\
        --user 1000:1000 -w /app --hostname box --dns 10.0.0.2 --cap-add NET_ADMIN --cap-drop ALL \\
        --device /dev/fuse --gpus all --log-driver json-file --log-opt max-size=10m --network appnet \\
        --network-alias api --ip 172.30.0.5 --env-file ./prod.env nginx:1.27 nginx -g 'daemon off;'`,
    );
    expect(ignored).toEqual(["--env-file ./prod.env"]);
    expect(spec).toMatchObject({
      image: "nginx:1.27",
      name: "web",
      cmd: ["nginx", "-g", "daemon off;"],
      env: ["GREETING=hello world", "PATH_EXTRA=$HOME/bin"],
      tty: true,
      interactive: true,
      restart: "on-failure",
      restartRetries: "3",
      cpus: "1.5",
      memory: "256m",
      pids: "100",
      labels: [
        ["team", "red"],
        ["tier", "web"],
      ],
      user: "1000:1000",
      workdir: "/app",
      hostname: "box",
      dns: ["10.0.0.2"],
      capAdd: ["NET_ADMIN"],
      capDrop: ["ALL"],
      devices: ["/dev/fuse"],
      gpus: "all",
      logDriver: "json-file",
      logOpts: [["max-size", "10m"]],
      network: "appnet",
      aliases: ["api"],
      ipv4: "172.30.0.5",
    });
    expect(spec.ports).toEqual([
      { hostIp: "127.0.0.1", hostPort: "8080", containerPort: "80", protocol: "tcp" },
      { hostIp: "", hostPort: "53", containerPort: "53", protocol: "udp" },
    ]);
    expect(spec.mounts).toEqual([
      { kind: "volume", source: "data", target: "/var/lib/data", readOnly: false },
      { kind: "bind", source: "/srv/conf", target: "/etc/conf", readOnly: true },
      { kind: "tmpfs", source: "", target: "/tmp", readOnly: false },
    ]);
    expect(spec.health).toMatchObject({ cmd: "wget -q -O- localhost || exit 1", interval: "30s" });
  });

  it("makes the engine's body from it", () => {
    const { spec } = parseDockerRun(
      "docker run --name db -p 5432:5432 -m 1g --cpus 0.5 --restart always -v pg:/data postgres:16",
    );
    expect(toCreateBody(spec)).toEqual({
      Image: "postgres:16",
      name: "db",
      ExposedPorts: { "5432/tcp": {} },
      HostConfig: {
        PortBindings: { "5432/tcp": [{ HostIp: "", HostPort: "5432" }] },
        Binds: ["pg:/data"],
        RestartPolicy: { Name: "always" },
        NanoCpus: 500_000_000,
        Memory: 1024 ** 3,
      },
    });
  });

  it.each([
    ["docker run", /no image/],
    ["docker ps", /docker run/],
    ["docker run --bogus x busybox", /unknown flag --bogus/],
    ["docker run -p notaport busybox", /not host:container/],
    ["docker run busybox; rm -rf /", /shell operators/],
    ["docker run --name", /needs a value/],
    ["docker run --restart sometimes busybox", /no, always/],
  ])("refuses %j with a reason", (line, reason) => {
    expect(() => parseDockerRun(line)).toThrow(SpecError);
    expect(() => parseDockerRun(line)).toThrow(reason);
  });

  it("round-trips: the line made from any spec reads back as the same spec", () => {
    const word = fc
      .string({ minLength: 1, maxLength: 12 })
      .filter((s) => !s.startsWith("-") && !s.includes("\n"));
    const safe = fc.stringMatching(/^[a-z][a-z0-9_.-]{0,10}$/);
    const port = fc.record({
      hostIp: fc.constantFrom("", "127.0.0.1"),
      hostPort: fc.integer({ min: 1, max: 65535 }).map(String),
      containerPort: fc.integer({ min: 1, max: 65535 }).map(String),
      protocol: fc.constantFrom("tcp", "udp"),
    });
    const mount = fc
      .record({
        kind: fc.constantFrom("volume", "bind"),
        source: safe,
        target: safe.map((s) => `/${s}`),
        readOnly: fc.boolean(),
      })
      .map((m) => ({ ...m, source: m.kind === "bind" ? `/${m.source}` : m.source }));
    const spec = fc.record({
      image: safe,
      name: fc.option(safe, { nil: "" }),
      cmd: fc.array(word, { maxLength: 4 }),
      env: fc.array(
        fc
          .tuple(
            safe,
            fc.string({ maxLength: 20 }).filter((s) => !s.includes("\n")),
          )
          .map(([k, v]) => `${k}=${v}`),
        { maxLength: 3 },
      ),
      ports: fc.array(port, { maxLength: 3 }),
      mounts: fc.array(mount, { maxLength: 3 }),
      memory: fc.constantFrom("", "256m", "1g"),
      restart: fc.constantFrom("no", "always", "unless-stopped"),
      labels: fc.array(
        fc.tuple(
          safe,
          fc.string({ maxLength: 12 }).filter((s) => !s.includes("\n")),
        ),
        { maxLength: 3 },
      ),
      user: fc.constantFrom("", "1000", "app:app"),
      tty: fc.boolean(),
      capDrop: fc.array(fc.constantFrom("ALL", "NET_RAW"), { maxLength: 2 }),
    });
    fc.assert(
      fc.property(spec, (partial) => {
        const want = { ...emptySpec(), ...partial } as CreateSpec;
        expect(parseDockerRun(toDockerRun(want)).spec).toEqual(want);
      }),
      { numRuns: 300 },
    );
  });
});
