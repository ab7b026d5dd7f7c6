import * as z from "zod/mini";
import { noteAudit } from "../audit/middleware.ts";
import { callerOf } from "../auth/middleware.ts";
import type { Audience, Policy } from "../auth/policy.ts";
import { withTeamLabel } from "../auth/team-label.ts";
import { EngineError } from "../engine/errors.ts";
import { type Environment, type Environments, listOf } from "../envs/environments.ts";
import { envFor, ownedRef } from "../envs/resolve.ts";
import type { AppContext } from "../http/context.ts";
import { ApiError } from "../http/errors.ts";
import { allowEngineWait } from "../http/long-request.ts";
import type { RouteTable } from "../http/route-table.ts";
import { commonErrors, EnvParam, errorResponse, json } from "../http/schemas.ts";
import type { NetworkListItem } from "../protocol/views.ts";
import { safetyContext } from "../safety/context.ts";
import { vetNetworkCreate } from "../safety/network-rules.ts";
import {
  NetworkConnectSchema,
  NetworkCreateSchema,
  NetworkDisconnectSchema,
} from "../safety/network-schema.ts";
import { vetEndpoint } from "../safety/rules.ts";
import { readEngineSafety } from "../settings/engine-safety.ts";
import type { SettingsStore } from "../settings/settings-store.ts";
import { PRUNE_TIMEOUT_MS, previewNetworkPrune, pruneNetworks } from "../system/prune.ts";
import { PruneQuery, pruneFilters } from "../system/prune-filters.ts";
import { attachedTo, ownsNetwork, seesNetwork, visibleNetwork } from "./access.ts";
import { NETWORKS } from "./kind.ts";
import type { NetworkAnswer, NetworkView } from "./view.ts";

const NetworkParams = z.extend(EnvParam, {
  id: z.string().check(z.minLength(1), z.maxLength(128)),
});

const NetworkSchema = z.object({
  id: z.string(),
  name: z.string(),
  driver: z.string(),
  scope: z.string(),
  created: z.string(),
  internal: z.boolean(),
  attachable: z.boolean(),
  ingress: z.boolean(),
  ipv6: z.boolean(),
  subnets: z.array(
    z.object({ subnet: z.string(), gateway: z.nullable(z.string()), ip_range: z.nullable(z.string()) }),
  ),
  labels: z.record(z.string(), z.string()),
  options: z.record(z.string(), z.string()),
  builtin: z.boolean(),
  containers: z.array(z.object({ id: z.string(), name: z.string(), state: z.string() })),
});

const PruneReportSchema = z.object({ networks: z.array(z.object({ id: z.string(), name: z.string() })) });

function requireNetworks(env: Environment): void {
  if (env.engine.capabilities && !env.engine.capabilities.networks)
    throw new ApiError(
      400,
      "unsupported",
      `engine "${env.name}" (${env.engine.facts?.kind}) has no networks`,
    );
}

/** The caller's network to change: theirs (by team label), never the engine's own unless an admin's. */
function changeable(audience: Audience, network: NetworkView): NetworkView {
  if (!ownsNetwork(audience, network))
    throw new ApiError(
      403,
      "forbidden",
      network.builtin
        ? `"${network.name}" is one of the engine's own networks`
        : `network "${network.name}" is not one of your teams'`,
    );
  return network;
}

/**
 * The engine's words for a network conflict, made into an answer a person can act on: its 403s
 * (an address pool that overlaps, an endpoint already there, a pre-defined network) are the
 * caller's to fix, not a panel failure.
 */
function networkError(err: unknown, name: string): unknown {
  if (!(err instanceof EngineError)) return err;
  if (err.status === 409 && /already exists/i.test(err.message))
    return new ApiError(409, "name_taken", `a network named "${name}" already exists`);
  if (err.status === 403) return new ApiError(409, "conflict", err.message);
  return err;
}

/** Who would be cut off: the containers with an endpoint on it, by name, as far as the caller may see. */
async function endpointsOf(env: Environment, audience: Audience, network: NetworkView): Promise<string> {
  const inspect = await env.engine.get<NetworkAnswer>(`/networks/${network.id}`);
  const names = Object.keys(inspect.Containers ?? {}).map((id) => {
    const c = env.containers.find(id);
    return c && audience.sees(c) ? c.name : undefined;
  });
  const seen = names.filter((n): n is string => n !== undefined);
  const hidden = names.length - seen.length;
  const list = [...seen, ...(hidden ? [`${hidden} of other teams`] : [])].join(", ");
  return `network "${network.name}" still has ${names.length} container${names.length === 1 ? "" : "s"} attached: ${list}`;
}

export function networkRoutes(
  routes: RouteTable,
  { envs, policy, settings }: { envs: Environments; policy: Policy; settings: SettingsStore },
): void {
  const audienceOf = (c: AppContext, env: Environment) => policy.audience(callerOf(c), env.id);

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/networks",
      tag: "networks",
      policy: "networks:read",
      summary:
        "Networks (answered from the panel's mirror), each with the containers that name it (from the container mirror)",
      params: EnvParam,
      responses: { 200: json(z.array(NetworkSchema), "Networks"), ...commonErrors },
    },
    (c, { params }) => {
      const env = envFor(envs, params.env);
      requireNetworks(env);
      const mirror = listOf(env, NETWORKS);
      if (!mirror.ready && mirror.error)
        throw new ApiError(503, "engine_unreachable", `networks could not be read: ${mirror.error}`);
      const audience = audienceOf(c, env);
      const list: NetworkListItem[] = mirror
        .list()
        .filter((n) => seesNetwork(audience, n))
        .map((n) => ({ ...n, containers: attachedTo(env, audience, n) }));
      return c.json(list);
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/networks",
      tag: "networks",
      policy: "networks:operate",
      summary:
        "Create a network: Docker's NetworkCreateRequest; a non-admin's gets their team's label and only what docs/security.md allows",
      params: EnvParam,
      body: NetworkCreateSchema,
      responses: {
        201: json(z.object({ id: z.string(), warning: z.string() }), "Created"),
        403: errorResponse("Refused by engine safety (the message names each field)"),
        409: errorResponse("Name taken, or an address range that overlaps another network's"),
        ...commonErrors,
      },
    },
    async (c, { params, body }) => {
      const env = envFor(envs, params.env);
      requireNetworks(env);
      const driver = body.Driver ?? "bridge";
      noteAudit(c, { target: { name: body.Name, driver } });
      if (callerOf(c).user.role !== "admin") {
        const problems = vetNetworkCreate(body);
        if (problems.length)
          throw new ApiError(403, "engine_safety", `${problems.join("; ")} (ask an admin)`);
      }
      if (driver === "overlay") {
        const info = await env.engine.get<{
          Swarm?: { LocalNodeState?: string; ControlAvailable?: boolean };
        }>("/info");
        if (info.Swarm?.LocalNodeState !== "active")
          throw new ApiError(
            400,
            "invalid_request",
            "Driver: overlay networks need a swarm, and this engine is in none",
          );
      }
      const Labels = withTeamLabel(callerOf(c), policy, env.id, body.Labels);
      // CheckDuplicate: engines before API 1.44 otherwise make a second network of the same name.
      const created = await env.engine
        .send<{ Id?: string; Warning?: string }>("POST", "/networks/create", {
          body: { ...body, Labels, CheckDuplicate: true },
        })
        .catch((err) => {
          // macvlan and ipvlan need kernel support the host may lack: the engine's 500 says only that.
          if (err instanceof EngineError && err.status === 500 && driver !== "bridge")
            throw new ApiError(
              400,
              "unsupported",
              `this engine cannot make ${driver} networks: ${err.message}`,
            );
          // Its 404s on create are about the request: no address pool left (IPv6 has none by default), no such plugin.
          if (err instanceof EngineError && err.status === 404)
            throw new ApiError(
              400,
              "invalid_request",
              /IPv6/.test(err.message) ? `${err.message}: give the network an IPv6 subnet` : err.message,
            );
          throw networkError(err, body.Name);
        });
      if (!created?.Id)
        throw new ApiError(502, "engine_error", "the engine answered the create without an id");
      await listOf(env, NETWORKS)
        .refresh()
        .catch(() => {});
      return c.json({ id: created.Id, warning: created.Warning ?? "" }, 201);
    },
  );

  // Before /networks/{id}, which would otherwise take "prune" for a network's name.
  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/networks/prune",
      tag: "networks",
      policy: "system:prune",
      summary:
        "What a prune of unused networks would remove (?label=key[=value], ?until=24h narrow it as they narrow the prune)",
      params: EnvParam,
      query: PruneQuery,
      responses: { 200: json(PruneReportSchema, "Networks that would go"), ...commonErrors },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      requireNetworks(env);
      const filters = pruneFilters(query);
      allowEngineWait(c, PRUNE_TIMEOUT_MS);
      return c.json({ networks: await previewNetworkPrune(env, filters) });
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/networks/prune",
      tag: "networks",
      policy: "system:prune",
      summary: "Remove every network no container has an endpoint on (filters as for the preview)",
      params: EnvParam,
      query: PruneQuery,
      responses: { 200: json(PruneReportSchema, "Networks removed"), ...commonErrors },
    },
    async (c, { params, query }) => {
      const env = envFor(envs, params.env);
      requireNetworks(env);
      const filters = pruneFilters(query);
      noteAudit(c, { target: { filters: JSON.stringify(filters) } });
      allowEngineWait(c, PRUNE_TIMEOUT_MS);
      return c.json({ networks: await pruneNetworks(env, filters) });
    },
  );

  routes.add(
    {
      method: "get",
      path: "/api/v1/envs/{env}/networks/{id}",
      tag: "networks",
      policy: "networks:read",
      summary:
        "Inspect a network (the engine's answer; a non-admin sees only the endpoints of containers they may see)",
      params: NetworkParams,
      responses: { 200: json(z.record(z.string(), z.unknown()), "Inspect"), ...commonErrors },
    },
    async (c, { params }) => {
      const env = envFor(envs, params.env);
      requireNetworks(env);
      const audience = audienceOf(c, env);
      const network = visibleNetwork(env, audience, params.id);
      const inspect = await env.engine.get<NetworkAnswer>(`/networks/${network.id}`);
      if (audience.key !== "*" && inspect.Containers) {
        inspect.Containers = Object.fromEntries(
          Object.entries(inspect.Containers).filter(([id]) => {
            const container = env.containers.find(id);
            return container !== undefined && audience.sees(container);
          }),
        );
      }
      return c.json(inspect);
    },
  );

  routes.add(
    {
      method: "delete",
      path: "/api/v1/envs/{env}/networks/{id}",
      tag: "networks",
      policy: "networks:operate",
      summary: "Remove a network (refused while a running container is attached; the answer names them)",
      params: NetworkParams,
      responses: {
        204: "Removed",
        403: errorResponse("Not yours"),
        409: errorResponse("Containers attached"),
        ...commonErrors,
      },
    },
    async (c, { params }) => {
      const env = envFor(envs, params.env);
      requireNetworks(env);
      const audience = audienceOf(c, env);
      const network = changeable(audience, visibleNetwork(env, audience, params.id));
      noteAudit(c, { target: { name: network.name, id: network.id } });
      try {
        await env.engine.send("DELETE", `/networks/${network.id}`);
      } catch (err) {
        if (err instanceof EngineError && err.status === 403 && /active endpoints/i.test(err.message))
          throw new ApiError(409, "in_use", await endpointsOf(env, audience, network));
        throw networkError(err, network.name);
      }
      await listOf(env, NETWORKS)
        .refresh()
        .catch(() => {});
      return c.body(null, 204);
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/networks/{id}/connect",
      tag: "networks",
      policy: "networks:operate",
      summary:
        "Connect a container: Docker's NetworkConnectRequest (aliases, a static IP in EndpointConfig.IPAMConfig); your container to your network",
      params: NetworkParams,
      body: NetworkConnectSchema,
      responses: {
        204: "Connected",
        403: errorResponse("Not yours, or refused by engine safety"),
        409: errorResponse("Already connected, or the address is taken"),
        ...commonErrors,
      },
    },
    async (c, { params, body }) => {
      const env = envFor(envs, params.env);
      requireNetworks(env);
      const caller = callerOf(c);
      const audience = audienceOf(c, env);
      const network = visibleNetwork(env, audience, params.id);
      const container = ownedRef(policy, caller, env, body.Container, "containers:operate");
      noteAudit(c, { target: { network: network.name, container: body.Container } });
      let EndpointConfig = body.EndpointConfig ?? null;
      if (caller.user.role !== "admin") {
        const ctx = safetyContext(env, policy, caller, readEngineSafety(settings));
        const vetted = await vetEndpoint(network.name, EndpointConfig, ctx);
        if (vetted.problems.length)
          throw new ApiError(403, "engine_safety", `${vetted.problems.join("; ")} (ask an admin)`);
        EndpointConfig = vetted.settings;
      }
      await env.engine
        .send("POST", `/networks/${network.id}/connect`, {
          body: { Container: container, ...(EndpointConfig ? { EndpointConfig } : {}) },
        })
        .catch((err) => {
          throw networkError(err, network.name);
        });
      const known = env.containers.find(container);
      if (known) await env.containers.refresh(known.id);
      return c.body(null, 204);
    },
  );

  routes.add(
    {
      method: "post",
      path: "/api/v1/envs/{env}/networks/{id}/disconnect",
      tag: "networks",
      policy: "networks:operate",
      summary: "Disconnect a container (Force: even when the engine no longer knows its endpoint)",
      params: NetworkParams,
      body: NetworkDisconnectSchema,
      responses: { 204: "Disconnected", 403: errorResponse("Not yours"), ...commonErrors },
    },
    async (c, { params, body }) => {
      const env = envFor(envs, params.env);
      requireNetworks(env);
      const caller = callerOf(c);
      const audience = audienceOf(c, env);
      const network = visibleNetwork(env, audience, params.id);
      // Leaving the engine's bridge hurts nobody else; leaving another team's network is theirs to do.
      if (!network.builtin) changeable(audience, network);
      const container = ownedRef(policy, caller, env, body.Container, "containers:operate");
      noteAudit(c, { target: { network: network.name, container: body.Container } });
      await env.engine
        .send("POST", `/networks/${network.id}/disconnect`, {
          body: { Container: container, Force: body.Force ?? false },
        })
        .catch((err) => {
          throw networkError(err, network.name);
        });
      const known = env.containers.find(container);
      if (known) await env.containers.refresh(known.id);
      return c.body(null, 204);
    },
  );
}
