import { useEffect, useState } from "preact/hooks";
import { useEnv } from "../../app/contexts.ts";
import { api, errorMessage } from "../../lib/api.ts";
import { containerPath } from "./actions.ts";

export type Inspected = { data: unknown } | { error: string } | null;

/** A container's inspect answer, asked again whenever `version` changes (the live row did). */
export function useInspect(id: string, version: unknown): Inspected {
  const env = useEnv().id;
  const [answer, setAnswer] = useState<Inspected>(null);
  useEffect(() => {
    let live = true;
    api<unknown>("GET", containerPath(env, id))
      .then((data) => live && setAnswer({ data }))
      .catch((err) => live && setAnswer({ error: errorMessage(err) }));
    return () => {
      live = false;
    };
  }, [env, id, version]);
  return answer;
}
