import { HELPER_LABEL } from "../containers/view.ts";
import type { Engine } from "../engine/engine.ts";
import { EngineError } from "../engine/errors.ts";
import { containerPath } from "../engine/paths.ts";
import { tarOfDirectory } from "./tar.ts";

/**
 * The image of the containers that reach a volume's files: one empty directory, imported from a
 * tar the panel makes in memory, so it needs nothing from the internet and works on any engine,
 * remote ones too. Its own and not any image the engine has: a helper made from an image that
 * declares VOLUMEs would make anonymous volumes, and browsing through a symlink in a volume lands
 * in the helper's file system, which here holds nothing.
 */
export const HELPER_IMAGE = "ghostpanel/volume-helper:1";
/** Where the volume is mounted in a helper. */
export const MOUNT = "/volume";

const imports = new WeakMap<Engine, Promise<void>>();

/**
 * A helper lives as long as one request; one older than this was left by a panel that died
 * mid-request (a crash, a kill), and holds its volume "in use" until it is removed.
 */
const LEFT_BEHIND_MS = 6 * 3_600_000;
const SWEEP_EVERY_MS = 3_600_000;
const swept = new WeakMap<Engine, number>();

async function sweepLeftBehind(engine: Engine): Promise<void> {
  const filters = encodeURIComponent(JSON.stringify({ label: [`${HELPER_LABEL}=volume`] }));
  const list = await engine.get<{ Id: string; Created: number }[]>(
    `/containers/json?all=1&filters=${filters}`,
  );
  for (const c of list)
    if (Date.now() - c.Created * 1000 > LEFT_BEHIND_MS)
      await engine.send("DELETE", containerPath(c.Id, "?force=1")).catch(() => {});
}

async function ensureImage(engine: Engine): Promise<void> {
  try {
    await engine.get(`/images/${encodeURIComponent(HELPER_IMAGE)}/json`);
    return;
  } catch (err) {
    if (!(err instanceof EngineError && err.status === 404)) throw err;
  }
  const [repo, tag] = HELPER_IMAGE.split(":");
  const query = new URLSearchParams({ fromSrc: "-", repo: repo!, tag: tag! });
  query.append("changes", `LABEL ${HELPER_LABEL}=volume`);
  // Never run: the archive API reads and writes a container that is created and never started.
  query.append("changes", 'ENTRYPOINT ["/ghostpanel-never-runs"]');
  const res = await engine.open("POST", `/images/create?${query}`, {
    body: tarOfDirectory("volume"),
    headers: { "content-type": "application/x-tar" },
    signal: AbortSignal.timeout(60_000),
  });
  // The engine answers 200 and then says in its progress lines whether the import failed.
  const text = await new Response(res.body).text();
  const failed = /"error"\s*:\s*"([^"]*)"/.exec(text);
  if (failed) throw new EngineError(502, `importing the volume helper image: ${failed[1]}`);
}

export interface Helper {
  id: string;
  /** Removes the helper; safe to call more than once, never throws. */
  remove(): Promise<void>;
}

/**
 * A container that mounts the volume at /volume (read-only unless `writable`) and is never
 * started: the engine's archive API reads and writes its files all the same. Labelled as the
 * panel's (the container mirror leaves it out); the caller removes it when done, failure or not.
 */
export async function openHelper(engine: Engine, volume: string, writable: boolean): Promise<Helper> {
  let imported = imports.get(engine);
  if (!imported) {
    imported = ensureImage(engine);
    imports.set(engine, imported);
    // A failed import is tried again next time (the engine may have been away).
    imported.catch(() => imports.delete(engine));
  }
  await imported;
  if (Date.now() - (swept.get(engine) ?? 0) > SWEEP_EVERY_MS) {
    swept.set(engine, Date.now());
    void sweepLeftBehind(engine).catch(() => {});
  }
  const created = await engine.send<{ Id: string }>("POST", "/containers/create", {
    body: {
      Image: HELPER_IMAGE,
      Labels: { [HELPER_LABEL]: "volume" },
      NetworkDisabled: true,
      HostConfig: {
        NetworkMode: "none",
        Mounts: [
          {
            Type: "volume",
            Source: volume,
            Target: MOUNT,
            ReadOnly: !writable,
            VolumeOptions: { NoCopy: true },
          },
        ],
      },
    },
  });
  if (!created?.Id) throw new EngineError(502, "the engine made the helper container without an id");
  const id = created.Id;
  let removing: Promise<void> | undefined;
  return {
    id,
    remove: () =>
      (removing ??= engine
        .send("DELETE", containerPath(id, "?force=1"))
        .then(() => undefined)
        .catch(() => undefined)),
  };
}

/** The engine path of a helper's archive of a path inside the volume. */
export function archivePath(id: string, inside: string): string {
  return containerPath(id, `/archive?path=${encodeURIComponent(inside)}`);
}
