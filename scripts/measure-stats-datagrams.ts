/**
 * Bytes an agent's stats cost on the link (docs/decisions.md, "An agent's stats as datagrams"):
 * `bun scripts/measure-stats-datagrams.ts [TICKS]` reads this machine's engine's running containers
 * through the cgroup source once a second, as an agent does, and prints what the datagram encoder
 * makes of them: bytes per container for the first tick (all keyframes) and per container-sample
 * after it, and datagrams per tick. Bytes, not time: load on the machine does not change them.
 */
import { pack } from "msgpackr";
import { KEY_EVERY, StatsDatagramEncoder } from "../src/agent/stats-datagram.ts";
import { CgroupSource } from "../src/stats/cgroup-source.ts";

const ticks = Number(process.argv[2] ?? 3 * KEY_EVERY + 1);
const ids = (await Bun.$`docker ps -q --no-trunc`.text()).trim().split("\n").filter(Boolean);
const targets: { id: string; pid: number }[] = [];
for (const id of ids) {
  const pid = Number((await Bun.$`docker inspect -f {{.State.Pid}} ${id}`.nothrow().text()).trim());
  if (pid > 0) targets.push({ id, pid });
}
if (!targets.length || !CgroupSource.available({ probe: targets[0] })) {
  console.log("no running container readable through the cgroup files here");
  process.exit(1);
}
const source = new CgroupSource();
const encoder = new StatsDatagramEncoder();
let first = 0;
let bytes = 0;
let datagrams = 0;
let samples = 0;
let plain = 0;
for (let t = 1; t <= ticks; t++) {
  const read = await source.read(targets);
  const out = encoder.encode(read, "cgroup");
  const size = out.reduce((n, d) => n + d.length, 0);
  if (t === 1) first = size / read.size;
  else {
    bytes += size;
    datagrams += out.length;
    samples += read.size;
    // the same sample as a msgpack map with its id in hex: what plain encoding would cost
    for (const [id, s] of read) plain += pack({ id, ...s }).length;
  }
  await Bun.sleep(1000);
}
source.close();
const f = (n: number) => n.toFixed(1);
console.log(
  `${targets.length} containers, ${ticks} ticks: first tick ${f(first)} B/container, then ${f(bytes / samples)} B/container-sample ` +
    `(${f(datagrams / (ticks - 1))} datagrams/tick); as msgpack maps ${f(plain / samples)} B`,
);
