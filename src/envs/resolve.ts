import type { Action } from "../auth/actions.ts";
import type { Caller, Policy } from "../auth/policy.ts";
import type { ContainerView } from "../containers/view.ts";
import { type Environment, type Environments, type EnvironmentView, viewOf } from "./environments.ts";

/**
 * Something a caller named that is not there, or not theirs to see (the same answer, so that a
 * caller learns nothing of what it may not see). Each edge says it its own way: a REST route
 * answers 404, a stream topic refuses with "not_found".
 */
export class NotFound extends Error {}

/** One resolver for every transport: an environment by id. */
export function envFor(envs: Environments, id: string): Environment {
  const env = envs.get(id);
  if (!env) throw new NotFound(`no environment "${id}"`);
  return env;
}

/** A container of an environment by full id, unique id prefix or name. */
export function containerIn(env: Environment, ref: string): ContainerView {
  const container = env.containers.find(ref);
  if (!container) throw new NotFound(`no container "${ref}" in environment "${env.id}"`);
  return container;
}

/**
 * The reference to hand the engine for a container a caller may `action`: for a caller who sees
 * only some containers, the full id of the one the policy allowed (a name or id prefix must not
 * land on another container at the engine); for one who sees the whole engine, as given.
 */
export function ownedRef(
  policy: Policy,
  caller: Caller,
  env: Environment,
  ref: string,
  action: Action,
): string {
  if (policy.audience(caller, env.id).key === "*") return ref;
  const container = env.containers.find(ref);
  if (!container || !policy.can(caller, action, { env: env.id, container })) {
    throw new NotFound(`no container "${ref}" in environment "${env.id}"`);
  }
  return container.id;
}

/**
 * The environments a caller may read, as it may see them: an engine's address (a socket path, an
 * internal host name) is for those who manage engines, the rest see its name and status.
 */
export function envViews(
  envs: Environments,
  policy: Policy,
  caller: Caller,
  only?: Environment,
): EnvironmentView[] {
  const manages = policy.can(caller, "envs:manage");
  return (only ? [viewOf(only)] : envs.list())
    .filter((e) => policy.can(caller, "envs:read", { env: e.id }))
    .map((e) => ({ ...e, url: manages ? e.url : "", role: policy.roleOn(caller, e.id) }));
}
