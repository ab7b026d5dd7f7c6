import { useMemo } from "preact/hooks";
import { toDockerRun } from "./create/docker-run.ts";
import { fromInspect, type InspectLike } from "./create/spec.ts";
import { JsonTree } from "./json-tree.tsx";
import { useInspect } from "./use-inspect.ts";

interface Props {
  id: string;
  /** Changes when the container changes, so the JSON shown is never older than the header. */
  version: unknown;
}

export function InspectView({ id, version }: Props) {
  const inspected = useInspect(id, version);
  const data = inspected && "data" in inspected ? inspected.data : undefined;
  const run = useMemo(
    () => (data === undefined ? "" : toDockerRun(fromInspect(data as InspectLike))),
    [data],
  );

  if (inspected && "error" in inspected)
    return (
      <p role="alert" class="alert">
        {inspected.error}
      </p>
    );
  if (data === undefined) return <p class="muted">Loading…</p>;
  return (
    <>
      <details class="docker-run-of">
        <summary>As a docker run command</summary>
        <pre class="inspect" data-testid="docker-run-of">
          {run}
        </pre>
      </details>
      <JsonTree value={data} label="the inspect JSON" />
    </>
  );
}
