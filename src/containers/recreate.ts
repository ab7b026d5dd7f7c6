import * as z from "zod/mini";
import { REMOVAL_TIMEOUT_MS } from "../engine/engine.ts";
import { EngineError } from "../engine/errors.ts";
import { containerPath } from "../engine/paths.ts";
import type { Environment } from "../envs/environments.ts";
import { ApiError } from "../http/errors.ts";
import { describeIssues } from "../http/schemas.ts";
import { pullImage } from "../images/pull.ts";
import type { JobHandle } from "../jobs/jobs.ts";
import type { RegistryCredentials } from "../registries/credentials.ts";
import { parseReference } from "../registries/reference.ts";
import {
  type ContainerCreate,
  ContainerCreateSchema,
  type EndpointSettings,
  HostConfigSchema,
  type Mount,
} from "../safety/create-schema.ts";
import { stopWaitMs } from "./stop-wait.ts";
import type { CheckedCreate } from "./vetted-create.ts";

/** What `docker inspect` says of a container, as far as a recreate reads it. */
export interface ContainerInspect {
  Id: string;
  Name: string;
  Image: string;
  Config: Record<string, unknown> & { Image?: string; Labels?: Record<string, string> | null };
  HostConfig: Record<string, unknown> & { NetworkMode?: string; AutoRemove?: boolean };
  State: { Running?: boolean; Paused?: boolean };
  Mounts?: { Type?: string; Name?: string; Destination?: string; RW?: boolean }[] | null;
  NetworkSettings?: { Networks?: Record<string, EndpointSettings & Record<string, unknown>> | null };
}

interface ImageConfig {
  Env?: string[] | null;
  Labels?: Record<string, string> | null;
  ExposedPorts?: Record<string, object> | null;
  Volumes?: Record<string, object> | null;
  [key: string]: unknown;
}

/** How a recreate is told what to make. */
export interface RecreateOptions {
  /** the new container's image; by default the reference the old one was made from */
  image?: string;
  /** pull the image first, with the registry's stored login */
  pull: boolean;
  credentials?: RegistryCredentials;
  /** a change to the create body before it is checked (an edit that recreates) */
  edit?: (body: ContainerCreate) => ContainerCreate;
  /** the gate of the caller: checkCreate (engine safety for non-admins, the team label) */
  check: (body: ContainerCreate) => Promise<CheckedCreate>;
  /** makes the volumes a checked body asks for */
  createVolumes: (checked: CheckedCreate) => Promise<void>;
}

/** The create body of a container, as it was made, and what is carried over beside it. */
export interface Recipe {
  body: ContainerCreate;
  /**
   * Anonymous volumes of the old container: mounted again at the same place, so its data is not
   * left behind in a volume nobody uses. They were this container's own, so the caller who may
   * recreate it may keep them (they are added after the caller's check, which would refuse them
   * as volumes of no team).
   */
  keptVolumes: Mount[];
}

const CONFIG_KEYS = Object.keys(ContainerCreateSchema.shape).filter(
  (k) => k !== "name" && k !== "HostConfig" && k !== "NetworkingConfig" && k !== "Image",
);
const HOST_CONFIG_KEYS = new Set(Object.keys(HostConfigSchema.shape));
// What the image gives unless the create overrides it: equal to the image's, it came from there.
const FROM_IMAGE = [
  "Cmd",
  "WorkingDir",
  "User",
  "StopSignal",
  "Healthcheck",
  "Shell",
  "OnBuild",
  "ArgsEscaped",
];

const same = (a: unknown, b: unknown) => Bun.deepEquals(a ?? null, b ?? null);
const unset = (v: unknown) =>
  v === undefined ||
  v === null ||
  v === "" ||
  v === false ||
  v === 0 ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === "object" && Object.keys(v as object).length === 0);

/**
 * The create body that makes this container again, from `docker inspect`: what its maker asked
 * for, not what the engine and the image filled in. The image's own Env, Cmd, labels, ports and
 * volumes are left out (the new image brings its own, which is the point of an update); of
 * HostConfig only what differs from a container made on this engine with no options at all
 * (`defaults`: the engine's own runtime, IPC mode, masked paths, shm size… differ by version and
 * configuration); the short id the engine gave as hostname and network alias is dropped.
 * `dropped` lists the fields the panel's create does not take, for the job's log.
 */
export function recipeOf(
  old: ContainerInspect,
  oldImage: ImageConfig,
  defaults: Record<string, unknown>,
  image: string,
): Recipe & { dropped: string[] } {
  const c = old.Config;
  const body: Record<string, unknown> = { Image: image };
  const entrypointOwn = !unset(c.Entrypoint) && !same(c.Entrypoint, oldImage.Entrypoint);
  for (const key of CONFIG_KEYS) {
    let v = c[key];
    if (unset(v)) continue;
    if (key === "Env") v = (v as string[]).filter((e) => !(oldImage.Env ?? []).includes(e));
    else if (key === "Labels")
      v = Object.fromEntries(
        Object.entries(v as Record<string, string>).filter(([k, val]) => oldImage.Labels?.[k] !== val),
      );
    else if (key === "ExposedPorts" || key === "Volumes") {
      const ofImage = (oldImage[key] ?? {}) as Record<string, object>;
      v = Object.fromEntries(Object.entries(v as Record<string, object>).filter(([k]) => !(k in ofImage)));
    } else if (key === "Entrypoint" && !entrypointOwn) continue;
    // With an entrypoint of its own, the engine took no Cmd from the image: its Cmd is the maker's.
    else if (key === "Cmd" && !entrypointOwn && same(v, oldImage.Cmd)) continue;
    else if (key !== "Cmd" && FROM_IMAGE.includes(key) && same(v, oldImage[key])) continue;
    else if (key === "Hostname" && v === old.Id.slice(0, 12)) continue;
    if (!unset(v)) body[key] = v;
  }

  const dropped: string[] = [];
  const host: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(old.HostConfig)) {
    if (same(v, defaults[key]) || (unset(v) && unset(defaults[key]))) continue;
    if (!HOST_CONFIG_KEYS.has(key)) {
      dropped.push(`HostConfig.${key}`);
      continue;
    }
    host[key] = v;
  }
  body.HostConfig = host;

  const mode = old.HostConfig.NetworkMode ?? "default";
  const ownNetworks = !/^(host|none|container:)/.test(mode);
  if (ownNetworks) {
    const endpoints: Record<string, EndpointSettings> = {};
    const shortId = old.Id.slice(0, 12);
    for (const [network, e] of Object.entries(old.NetworkSettings?.Networks ?? {})) {
      const settings: EndpointSettings = {};
      const aliases = (e.Aliases ?? []).filter((a) => a !== shortId && a !== old.Id);
      if (aliases.length) settings.Aliases = aliases;
      const ipam = e.IPAMConfig;
      if (ipam && (ipam.IPv4Address || ipam.IPv6Address || ipam.LinkLocalIPs?.length))
        settings.IPAMConfig = ipam;
      if (e.Links?.length) settings.Links = e.Links;
      if (e.DriverOpts && Object.keys(e.DriverOpts).length) settings.DriverOpts = e.DriverOpts;
      endpoints[network] = settings;
    }
    if (Object.keys(endpoints).length) body.NetworkingConfig = { EndpointsConfig: endpoints };
  }

  const named = new Set<string>();
  for (const bind of (old.HostConfig.Binds as string[] | null | undefined) ?? [])
    named.add(bind.split(":")[0]!);
  for (const m of (old.HostConfig.Mounts as Mount[] | null | undefined) ?? [])
    if (m.Source) named.add(m.Source);
  const keptVolumes: Mount[] = (old.Mounts ?? [])
    .filter((m) => m.Type === "volume" && m.Name && m.Destination && !named.has(m.Name))
    .map((m) => ({ Type: "volume", Source: m.Name, Target: m.Destination, ReadOnly: m.RW === false }));

  const parsed = z.safeParse(ContainerCreateSchema, body);
  if (!parsed.success)
    throw new ApiError(
      400,
      "invalid_request",
      `this container's configuration cannot be made again: ${describeIssues(parsed.error.issues)}`,
    );
  return { body: parsed.data, keptVolumes, dropped };
}

/** Where the old container waits while its replacement is made. */
const asideName = (name: string) => `${name}-gp-old-${crypto.randomUUID().slice(0, 8)}`;

/**
 * Makes a container again — with a newer image, or (issue #11) an edited configuration — keeping
 * its name, configuration, networks (aliases, static addresses), volumes and mounts, labels and
 * restart policy, and starting it if it ran. The old container is never lost: it is renamed aside
 * and stopped, the new one is made, connected and started, and only then is the old removed; if
 * anything fails on the way, the new one is removed, the old gets its name back and runs again,
 * and the error says what failed. Returns the new container's id.
 */
export async function recreateContainer(
  env: Environment,
  ref: string,
  options: RecreateOptions,
  job: JobHandle,
): Promise<string> {
  const { engine } = env;
  const old = await engine.get<ContainerInspect>(containerPath(ref, "/json"));
  const name = old.Name.replace(/^\//, "");
  if (old.HostConfig.AutoRemove)
    throw new ApiError(
      400,
      "invalid_request",
      `${name} is removed by the engine when it stops (--rm): it cannot be recreated without losing it`,
    );
  const image = options.image ?? old.Config.Image ?? "";
  if (options.pull) {
    job.line(`pulling ${image}`);
    await pullImage(engine, parseReference(image), job, options.credentials);
  }
  const oldImage = await engine
    .get<{ Config?: ImageConfig }>(`/images/${encodeURIComponent(old.Image)}/json`)
    .then((i) => i.Config ?? {})
    .catch((err) => {
      if (err instanceof EngineError && err.status === 404) return {};
      throw err;
    });
  const recipe = recipeOf(old, oldImage, await engineDefaults(env, image), image);
  for (const field of recipe.dropped) job.line(`not carried over (the panel does not set it): ${field}`);
  const body = options.edit ? options.edit(recipe.body) : recipe.body;
  const checked = await options.check(body);
  await options.createVolumes(checked);
  const config = checked.config;
  if (recipe.keptVolumes.length) {
    const host = { ...config.HostConfig };
    host.Mounts = [...(host.Mounts ?? []), ...recipe.keptVolumes];
    config.HostConfig = host;
  }
  // The engine joins one network at create (before API 1.44); the others are joined after.
  const endpoints = Object.entries(config.NetworkingConfig?.EndpointsConfig ?? {});
  const mode = config.HostConfig?.NetworkMode ?? "default";
  const first =
    endpoints.find(([n]) => n === mode) ?? endpoints.find(([n]) => n === "bridge") ?? endpoints[0];
  const later = endpoints.filter((e) => e !== first);
  if (first) config.NetworkingConfig = { EndpointsConfig: { [first[0]]: first[1] } };

  const running = old.State.Running === true;
  const aside = asideName(name);
  await engine.send("POST", containerPath(old.Id, `/rename?name=${encodeURIComponent(aside)}`));
  job.line(`${name} renamed ${aside} while its replacement is made`);
  let made: string | undefined;
  try {
    if (running) {
      const t = typeof old.Config.StopTimeout === "number" ? old.Config.StopTimeout : 10;
      await engine.send("POST", containerPath(old.Id, `/stop?t=${t}`), { timeoutMs: stopWaitMs(t) });
    }
    const created = await engine.send<{ Id: string }>(
      "POST",
      `/containers/create?name=${encodeURIComponent(name)}`,
      {
        body: config,
      },
    );
    made = created?.Id;
    if (!made) throw new Error("the engine answered the create without an id");
    for (const [network, settings] of later) {
      await engine.send("POST", `/networks/${encodeURIComponent(network)}/connect`, {
        body: { Container: made, EndpointConfig: settings ?? {} },
      });
    }
    if (running) await engine.send("POST", containerPath(made, "/start"));
    job.line(`${name} made again${running ? " and started" : ""}`);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const undo: string[] = [];
    const attempt = async (what: string, step: () => Promise<unknown>) => {
      try {
        await step();
      } catch (e) {
        undo.push(`${what}: ${(e as Error).message}`);
      }
    };
    if (made)
      await attempt("removing the new container", () =>
        engine.send("DELETE", containerPath(made!, "?force=1")),
      );
    await attempt("renaming the old one back", () =>
      engine.send("POST", containerPath(old.Id, `/rename?name=${encodeURIComponent(name)}`)),
    );
    if (running)
      await attempt("starting the old one again", () => engine.send("POST", containerPath(old.Id, "/start")));
    await env.containers.refresh(old.Id).catch(() => {});
    const kept = undo.length
      ? ` and putting it back failed (${undo.join("; ")})`
      : `; ${name} is kept as it was`;
    throw new ApiError(
      err instanceof ApiError ? err.status : 409,
      "recreate_failed",
      `the new ${name} could not be made: ${why}${kept}`,
    );
  }
  // Its anonymous volumes now serve the new container: removed without them. Its writable layer
  // may be big: as long as any removal is given.
  await engine.send("DELETE", containerPath(old.Id, "?force=1"), { timeoutMs: REMOVAL_TIMEOUT_MS });
  await env.containers.refresh(made).catch(() => {});
  return made;
}

/**
 * The HostConfig the engine gives a container made with no options, from this image: made (never
 * started) and removed again. What a container's HostConfig has beyond it is what its maker set.
 */
async function engineDefaults(env: Environment, image: string): Promise<Record<string, unknown>> {
  const probe = await env.engine.send<{ Id: string }>(
    "POST",
    `/containers/create?name=gp-probe-${crypto.randomUUID().slice(0, 12)}`,
    { body: { Image: image, Labels: { "ghostpanel.probe": "defaults" } } },
  );
  if (!probe?.Id) throw new Error("the engine answered the create without an id");
  try {
    const inspect = await env.engine.get<ContainerInspect>(containerPath(probe.Id, "/json"));
    return inspect.HostConfig;
  } finally {
    await env.engine.send("DELETE", containerPath(probe.Id, "?force=1")).catch(() => {});
  }
}
