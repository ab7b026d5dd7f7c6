/**
 * Group `volumes` (issue #10): a 1 GiB volume backed up through the panel's
 * GET /api/v1/envs/local/volumes/{name}/backup (.tar.gz, compressed as it streams), with the
 * panel's VmRSS sampled all along: the budget is its growth over the RSS just before. The panel has
 * streamed one smaller backup first (warm: Bun's HTTP client and allocator hold buffers from the
 * first large stream on, about 15 MiB even when nothing is compressed); its growth over the RSS
 * before that first backup is reported too (`rss_growth_over_cold_mib`). Baselines of
 * the same run: `docker cp` of the same volume (a plain tar, no compression) and `docker cp | gzip`
 * (the same work as the panel's), both to a pipe that only counts bytes.
 */
import { IMAGE, LABEL, NAME_PREFIX } from "./lib/engine.ts";
import { startPanel } from "./lib/panel.ts";
import { memoryOf, type Target } from "./lib/process.ts";
import { defer, log, round, tempDir } from "./lib/util.ts";

export interface VolumeBackupSettings {
  /** bytes of random data in the volume */
  bytes: number;
  /** bytes of the backup streamed first, to warm the panel */
  warmBytes: number;
  files: number;
  sampleMs: number;
}

export interface VolumeBackupResult {
  volume_bytes: number;
  files: number;
  panel: {
    seconds: number;
    mib_per_s: number;
    gzip_bytes: number;
    rss_before_mib: number;
    rss_peak_during_mib: number;
    rss_growth_mib: number;
    rss_cold_mib: number;
    rss_growth_over_cold_mib: number;
    rss_after_mib: number;
    samples: number;
  };
  docker_cp: { seconds: number; mib_per_s: number; tar_bytes: number };
  docker_cp_gzip: { seconds: number; mib_per_s: number; gzip_bytes: number };
  ratios: {
    /** panel throughput / docker cp's (tar, no compression) */
    throughput_vs_docker_cp: number;
    /** panel throughput / docker cp | gzip's */
    throughput_vs_docker_cp_gzip: number;
    /** peak RSS during / RSS before */
    rss_during_over_before: number;
  };
}

const MIB = 1024 * 1024;

function run(command: string[]): string {
  const res = Bun.spawnSync(command, { stdout: "pipe", stderr: "pipe", timeout: 10 * 60_000 });
  if (res.exitCode !== 0)
    throw new Error(
      `${command.join(" ")} failed (${res.exitCode}): ${res.stderr.toString().trim().slice(0, 300)}`,
    );
  return res.stdout.toString().trim();
}

/** Seconds a shell pipeline takes, and the number it prints (a byte count). */
async function timed(script: string): Promise<{ seconds: number; bytes: number }> {
  const t0 = performance.now();
  const proc = Bun.spawn(["sh", "-c", script], { stdout: "pipe", stderr: "pipe" });
  const [out, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  if (code !== 0) throw new Error(`${script} failed: ${await new Response(proc.stderr).text()}`);
  return { seconds: (performance.now() - t0) / 1000, bytes: Number(out.trim()) };
}

export async function benchVolumeBackup(
  target: Target,
  s: VolumeBackupSettings,
): Promise<VolumeBackupResult> {
  const volume = `${NAME_PREFIX}backup`;
  const small = `${NAME_PREFIX}warmup`;
  defer(`volumes ${volume}, ${small}`, async () => {
    Bun.spawnSync(["docker", "volume", "rm", "-f", volume, small]);
  });
  for (const v of [volume, small]) run(["docker", "volume", "create", "--label", LABEL, v]);
  const per = Math.floor(s.bytes / s.files);
  log(`volumes: writing ${(s.bytes / MIB).toFixed(0)} MiB of random data into ${volume}`);
  run([
    "docker",
    "run",
    "--rm",
    "--label",
    LABEL,
    "--network",
    "none",
    "-v",
    `${volume}:/d`,
    IMAGE,
    "sh",
    "-c",
    `i=0; while [ $i -lt ${s.files} ]; do head -c ${per} /dev/urandom > /d/file-$i; i=$((i+1)); done; mkdir -p /d/sub && echo small > /d/sub/small`,
  ]);
  run([
    "docker",
    "run",
    "--rm",
    "--label",
    LABEL,
    "-v",
    `${small}:/d`,
    IMAGE,
    "sh",
    "-c",
    "echo warm > /d/x",
  ]);
  const volumeBytes = per * s.files + 6;

  const dir = tempDir("volumes");
  const panel = await startPanel({ target, dataDir: `${dir}/data`, tls: "off", workDir: dir });
  const backupOf = (name: string) =>
    fetch(`${panel.url}/api/v1/envs/local/volumes/${name}/backup`, {
      headers: { authorization: `Bearer ${panel.token}` },
    });
  const drain = async (res: Response) => {
    if (res.status !== 200) throw new Error(`backup: ${res.status} ${await res.text()}`);
    let n = 0;
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return n;
      n += value.length;
    }
  };
  await Bun.sleep(1_000);
  const cold = memoryOf(panel.child.pid).rssKiB;
  // Warm: the helper image imported, a backup's code and buffers in use once, then a moment of rest.
  log(`volumes: warming the panel with a ${(s.warmBytes / MIB).toFixed(0)} MiB backup`);
  await drain(await backupOf(small));
  await Bun.sleep(2_000);
  const before = memoryOf(panel.child.pid).rssKiB;
  let peak = before;
  let samples = 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, memoryOf(panel.child.pid).rssKiB);
    samples++;
  }, s.sampleMs);
  log("volumes: backing up through the panel");
  const t0 = performance.now();
  let gzipBytes: number;
  try {
    gzipBytes = await drain(await backupOf(volume));
  } finally {
    clearInterval(sampler);
  }
  const panelSeconds = (performance.now() - t0) / 1000;
  peak = Math.max(peak, memoryOf(panel.child.pid).rssKiB);
  await Bun.sleep(1_000);
  const after = memoryOf(panel.child.pid).rssKiB;
  await panel.child.stop();

  // The baselines read the same volume through a container made for it, as `docker cp` needs.
  const holder = run([
    "docker",
    "create",
    "--label",
    LABEL,
    "--network",
    "none",
    "-v",
    `${volume}:/v:ro`,
    IMAGE,
    "true",
  ]);
  defer(`container ${holder}`, async () => {
    Bun.spawnSync(["docker", "rm", "-f", holder]);
  });
  log("volumes: docker cp baselines");
  const cp = await timed(`docker cp ${holder}:/v - | wc -c`);
  const cpGzip = await timed(`docker cp ${holder}:/v - | gzip -6 | wc -c`);
  run(["docker", "rm", "-f", holder]);

  const rate = (secs: number) => volumeBytes / MIB / secs;
  return {
    volume_bytes: volumeBytes,
    files: s.files + 1,
    panel: {
      seconds: round(panelSeconds, 2),
      mib_per_s: round(rate(panelSeconds), 1),
      gzip_bytes: gzipBytes,
      rss_before_mib: round(before / 1024, 1),
      rss_peak_during_mib: round(peak / 1024, 1),
      rss_growth_mib: round((peak - before) / 1024, 1),
      rss_cold_mib: round(cold / 1024, 1),
      rss_growth_over_cold_mib: round((peak - cold) / 1024, 1),
      rss_after_mib: round(after / 1024, 1),
      samples,
    },
    docker_cp: { seconds: round(cp.seconds, 2), mib_per_s: round(rate(cp.seconds), 1), tar_bytes: cp.bytes },
    docker_cp_gzip: {
      seconds: round(cpGzip.seconds, 2),
      mib_per_s: round(rate(cpGzip.seconds), 1),
      gzip_bytes: cpGzip.bytes,
    },
    ratios: {
      throughput_vs_docker_cp: round(cp.seconds / panelSeconds),
      throughput_vs_docker_cp_gzip: round(cpGzip.seconds / panelSeconds),
      rss_during_over_before: round(peak / before),
    },
  };
}
