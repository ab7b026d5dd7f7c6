/**
 * Two or more builds of the panel through the same volume backup and restore (bench/volume-backup.ts),
 * interleaved (A B A B …) so that the machine's load, which other work changes from minute to
 * minute, falls on each alike; the load average is printed with every run. No `docker cp`
 * baselines: the panels are compared with each other.
 *
 *   bun bench/volume-compare.ts --mib 1024 --rounds 2 old=/tmp/old-ghostpanel new=dist/ghostpanel
 */
import { loadavg } from "node:os";
import { resolve } from "node:path";
import type { Target } from "./lib/process.ts";
import { log, numberArg, runCleanups } from "./lib/util.ts";
import { benchVolumeBackup, type VolumeBackupResult } from "./volume-backup.ts";

const MIB = 1024 * 1024;
const mib = numberArg("--mib") ?? 256;
const rounds = numberArg("--rounds") ?? 2;
const builds = process.argv
  .slice(2)
  .filter((a) => /^[\w.-]+=/.test(a))
  .map((a) => {
    const [name, path] = a.split("=", 2) as [string, string];
    return { name, target: { kind: "binary", path, command: [resolve(path)] } satisfies Target };
  });
if (builds.length < 1) throw new Error("name builds to compare: name=path …");

// Stopped early, the panels, volumes and files it made go too.
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.on(signal, () => void runCleanups().finally(() => process.exit(130)));

const rows: { round: number; build: string; load: string; result: VolumeBackupResult }[] = [];
try {
  for (let round = 1; round <= rounds; round++)
    for (const { name, target } of builds) {
      const load = loadavg()
        .map((l) => l.toFixed(1))
        .join(" ");
      log(`compare: round ${round}, ${name}, load ${load}`);
      const result = await benchVolumeBackup(target, {
        bytes: mib * MIB,
        warmBytes: Math.min(64, mib / 4) * MIB,
        files: Math.max(4, mib / 64),
        sampleMs: 20,
        baselines: false,
      });
      rows.push({ round, build: name, load, result });
      // Each as it comes: a run cut short still says what it measured.
      print(rows.at(-1)!);
    }
} finally {
  await runCleanups();
}
console.log(
  "round build  load(1/5/15 min)   backup: growth MiB  s      healthz p50/p99 ms | restore: growth MiB  s      healthz p50/p99 ms  verified",
);
for (const row of rows) print(row);
console.log(JSON.stringify(rows));

function print({ round, build, load, result: r }: (typeof rows)[number]): void {
  console.log(
    [
      String(round).padEnd(5),
      build.padEnd(6),
      load.padEnd(18),
      `        ${String(r.panel.rss_growth_mib).padStart(6)}`,
      String(r.panel.seconds).padStart(6),
      `${r.panel.healthz_during_p50_ms}/${r.panel.healthz_during_p99_ms}`.padStart(12),
      `|          ${String(r.restore.rss_growth_mib).padStart(6)}`,
      String(r.restore.seconds).padStart(6),
      `${r.restore.healthz_during_p50_ms}/${r.restore.healthz_during_p99_ms}`.padStart(12),
      String(r.restore.verified).padStart(9),
    ].join(" "),
  );
}
