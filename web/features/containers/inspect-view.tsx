import { useEffect, useState } from "preact/hooks";
import { useEnv } from "../../app/contexts.ts";
import { api, errorMessage } from "../../lib/api.ts";
import { containerPath } from "./actions.ts";
import { toDockerRun } from "./create/docker-run.ts";
import { fromInspect, type InspectLike } from "./create/spec.ts";

interface Props {
  id: string;
  /** Changes when the container changes, so the JSON shown is never older than the header. */
  version: unknown;
}

export function InspectView({ id, version }: Props) {
  const env = useEnv().id;
  const [json, setJson] = useState<string | null>(null);
  const [run, setRun] = useState("");
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    api<unknown>("GET", containerPath(env, id))
      .then((data) => {
        if (!live) return;
        setJson(JSON.stringify(data, null, 2));
        setRun(toDockerRun(fromInspect(data as InspectLike)));
        setError(null);
      })
      .catch((err) => live && setError(errorMessage(err)));
    return () => {
      live = false;
    };
  }, [env, id, version]);

  if (error)
    return (
      <p role="alert" class="alert">
        {error}
      </p>
    );
  if (json === null) return <p class="muted">Loading…</p>;
  return (
    <>
      <details class="docker-run-of">
        <summary>As a docker run command</summary>
        <pre class="inspect" data-testid="docker-run-of">
          {run}
        </pre>
      </details>
      <pre class="inspect" data-testid="inspect">
        {json}
      </pre>
    </>
  );
}
