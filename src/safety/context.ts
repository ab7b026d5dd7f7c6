import type { Caller, Policy } from "../auth/policy.ts";
import { TEAM_LABEL } from "../auth/teams.ts";
import { EngineError } from "../engine/errors.ts";
import { containerPath } from "../engine/paths.ts";
import type { Environment } from "../envs/environments.ts";
import type { EngineSafety } from "../settings/engine-safety.ts";
import { type SafetyContext, volumeDriverProblems } from "./rules.ts";
import { type InspectAnswer, vetRunning } from "./running.ts";

const MAX_DEPTH = 3;

interface Labelled {
  Labels?: Record<string, string> | null;
}
interface VolumeAnswer extends Labelled {
  Driver?: string;
  Options?: Record<string, string> | null;
}

/**
 * The answers a check needs about one engine, for one caller: containers from the mirror (the
 * policy says which are the caller's), networks and volumes from the engine itself, asked when a
 * body names them.
 */
export function safetyContext(
  env: Environment,
  policy: Policy,
  caller: Caller,
  settings: EngineSafety,
  /** how many containers deep this check is: A joins B which joins C… */
  depth = 0,
): SafetyContext {
  const wholeEngine = policy.ownsEnv(caller, env.id);
  const teams = new Set(policy.teamsOf(caller));
  const ours = (thing: Labelled) => wholeEngine || teams.has(thing.Labels?.[TEAM_LABEL] ?? "\u0000");
  const lookUp = async <T>(path: string): Promise<T | undefined> => {
    try {
      return await env.engine.get<T>(path);
    } catch (err) {
      if (err instanceof EngineError && err.status === 404) return undefined;
      throw err;
    }
  };
  return {
    settings,
    onThisMachine: env.engine.local,
    async ownedContainer(ref) {
      const container = env.containers.find(ref);
      if (!container || !policy.can(caller, "containers:operate", { env: env.id, container }))
        return { refused: `no container "${ref}" of your teams` };
      if (depth >= MAX_DEPTH) return { refused: `container "${ref}" reaches too many containers further` };
      // Its namespaces and volumes come with it: the host's, if an admin gave it those.
      const inspect = await lookUp<InspectAnswer>(containerPath(container.id, "/json"));
      if (!inspect) return { refused: `no container "${ref}" of your teams` };
      const problems = await vetRunning(inspect, safetyContext(env, policy, caller, settings, depth + 1));
      return problems.length
        ? { refused: `container "${ref}" has what you could not ask for (${problems.join("; ")})` }
        : { id: container.id };
    },
    async ownsNetwork(name) {
      const network = await lookUp<Labelled>(`/networks/${encodeURIComponent(name)}`);
      return network !== undefined && ours(network);
    },
    async volume(name) {
      const volume = await lookUp<VolumeAnswer>(`/volumes/${encodeURIComponent(name)}`);
      if (!volume) return "missing";
      // The local driver's bind options make a "volume" of any host directory, whoever owns it: the
      // same rule as for a volume a non-admin creates.
      const problems = volumeDriverProblems(volume.Driver, volume.Options);
      if (problems.length)
        return {
          refused: `its driver or options reach past the engine's own storage (${problems.join("; ")})`,
          hostBind: true,
        };
      return ours(volume) ? "owned" : { refused: "it belongs to another team, or to none" };
    },
  };
}
