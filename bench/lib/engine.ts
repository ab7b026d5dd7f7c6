import { benchAlive, isStopping, log, RUN_ID } from "./util.ts";

/** The engine the bench loads: the same socket and image the tests use (scripts/setup-engine.sh). */
export const SOCKET = process.env.GHOSTPANEL_TEST_SOCKET ?? "/var/run/docker.sock";
export const ENGINE_URL = `unix://${SOCKET}`;
export const IMAGE = process.env.GHOSTPANEL_TEST_IMAGE ?? "ghostpanel-test/busybox:latest";

/** Every container the bench makes carries this label (value: this run) and a name with this prefix. */
export const LABEL_KEY = "ghostpanel.bench";
export const LABEL = `${LABEL_KEY}=${RUN_ID}`;
export const NAME_PREFIX = `gpbench-${RUN_ID}-`;

export const NETWORK_MODE = "none";
const TIMEOUT_MS = 30_000;

/** One call to the engine's API over its unix socket. Throws on a non-2xx answer. */
export async function engine(method: string, path: string, body?: unknown): Promise<unknown> {
  const res = await fetch(`http://localhost${path}`, {
    method,
    unix: SOCKET,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  if (!res.ok && res.status !== 304) {
    throw new Error(`engine ${method} ${path}: ${res.status} ${text.trim().slice(0, 300)}`);
  }
  return text ? JSON.parse(text) : undefined;
}

interface ListItem {
  Id: string;
  Labels?: Record<string, string>;
  State?: string;
}

function labelFilter(label: string): string {
  return encodeURIComponent(JSON.stringify({ label: [label] }));
}

export async function listByLabel(label: string): Promise<ListItem[]> {
  return (await engine("GET", `/containers/json?all=1&filters=${labelFilter(label)}`)) as ListItem[];
}

/** Runs `fn` over `items`, `limit` at a time. */
export async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Removes containers by id (force, with their volumes); gone already is fine. */
export async function removeAll(ids: string[]): Promise<void> {
  const failures: string[] = [];
  await mapLimit(ids, 10, async (id) => {
    try {
      await engine("DELETE", `/containers/${id}?force=1&v=1`);
    } catch (err) {
      // Gone, or being removed by another run's sweep at the same moment: either way, going.
      if (!/\b404\b|already in progress/.test((err as Error).message)) failures.push((err as Error).message);
    }
  });
  if (failures.length) throw new Error(`${failures.length} containers not removed: ${failures[0]}`);
}

/** Removes this run's containers. */
export async function removeOurContainers(): Promise<number> {
  const ids = (await listByLabel(LABEL)).map((c) => c.Id);
  await removeAll(ids);
  return ids.length;
}

/** Removes containers of earlier bench runs whose process is gone (a run still going keeps its own). */
export async function sweepLeftovers(): Promise<number> {
  const stale = (await listByLabel(LABEL_KEY)).filter((c) => {
    const owner = Number(c.Labels?.[LABEL_KEY]?.split("-")[0]);
    return !(owner !== process.pid && benchAlive(owner));
  });
  await removeAll(stale.map((c) => c.Id));
  return stale.length;
}

/** What bench containers run: idle, or burning a little CPU in bursts (about 3 % of a CPU each here). */
export const SLEEP_CMD = ["sleep", "3600"];
export const BURN_CMD = ["sh", "-c", "while :; do usleep 100000; yes | head -c 100000 >/dev/null; done"];

export interface StartOptions {
  /** How many are created at once (10). */
  parallel?: number;
  /** The command (SLEEP_CMD). */
  cmd?: string[];
  /** Goes into the names, between the run's prefix and the number: keeps batches apart. */
  tag?: string;
}

/** Creates and starts `count` busybox containers (`sleep 3600` unless told otherwise), `parallel` at a time. */
export async function startContainers(count: number, o: StartOptions = {}): Promise<string[]> {
  const ids: string[] = [];
  const indexes = Array.from({ length: count }, (_, i) => i);
  await mapLimit(indexes, o.parallel ?? 10, async (i) => {
    if (isStopping()) throw new Error("the run is ending");
    const name = `${NAME_PREFIX}${o.tag ?? ""}${String(i).padStart(3, "0")}`;
    const created = (await engine("POST", `/containers/create?name=${encodeURIComponent(name)}`, {
      Image: IMAGE,
      Cmd: o.cmd ?? SLEEP_CMD,
      Labels: { [LABEL_KEY]: RUN_ID },
      // No network: starts are quicker, and do not depend on docker0 (seen vanishing on this shared engine).
      HostConfig: { NetworkMode: NETWORK_MODE },
    })) as { Id: string };
    await engine("POST", `/containers/${created.Id}/start`);
    ids.push(created.Id);
  });
  const running = new Set((await listByLabel(LABEL)).filter((c) => c.State === "running").map((c) => c.Id));
  const up = ids.filter((id) => running.has(id)).length;
  if (up !== count) throw new Error(`started ${count} containers but ${up} are running`);
  log(`${count} containers running (label ${LABEL}${o.tag ? `, ${o.tag}*` : ""})`);
  return ids;
}

export async function engineVersion(): Promise<{ version: string; api: string }> {
  const v = (await engine("GET", "/version")) as { Version?: string; ApiVersion?: string };
  return { version: v.Version ?? "?", api: v.ApiVersion ?? "?" };
}
