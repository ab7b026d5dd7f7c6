/**
 * Group `volumes` (issue #10): a 1 GiB volume backed up through the panel's
 * GET /api/v1/envs/local/volumes/{name}/backup (.tar.gz, compressed as it streams), then restored
 * from that file into a new volume (POST …/restore?create=true, checked and read back). The budget
 * is the panel's RSS growth during the backup over its RSS just before; the peak is the kernel's
 * own (VmHWM, reset through /proc/<pid>/clear_refs just before), so no sampling interval can miss
 * it. The panel has streamed one smaller backup of random data first (warm: Bun's HTTP client and
 * allocator keep buffers from the first large stream on); its growth over the RSS before that first
 * backup is reported too (`rss_growth_over_cold_mib`). While the backup runs, /healthz is asked
 * every 50 ms: its latency against the same probe just before says how much the backup holds up
 * the panel's other requests. Baselines of the same run: `docker cp` of the same volume (a plain
 * tar, no compression), `docker cp | gzip` (the same work as the panel's), both to a pipe that only
 * counts bytes, and `gzip -dc | docker cp -` of the panel's own backup for the restore.
 */
import { rmSync, writeFileSync } from "node:fs";
import { IMAGE, LABEL, NAME_PREFIX } from "./lib/engine.ts";
import { startPanel } from "./lib/panel.ts";
import { memoryOf, type Target } from "./lib/process.ts";
import { defer, log, percentile, round, tempDir } from "./lib/util.ts";

export interface VolumeBackupSettings {
  /** bytes of random data in the volume */
  bytes: number;
  /** bytes of the backup streamed first, to warm the panel */
  warmBytes: number;
  files: number;
  sampleMs: number;
  /** also time `docker cp` and friends on the same volume (off when comparing panels: bench/volume-compare.ts) */
  baselines?: boolean;
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
    /** whether the peak is the kernel's VmHWM (else the highest of the samples) */
    peak_from_hwm: boolean;
    healthz_idle_p50_ms: number;
    healthz_idle_p99_ms: number;
    healthz_during_p50_ms: number;
    healthz_during_p99_ms: number;
    healthz_during_max_ms: number;
  };
  restore: {
    seconds: number;
    mib_per_s: number;
    verified: boolean;
    bytes: number;
    rss_before_mib: number;
    rss_peak_during_mib: number;
    rss_growth_mib: number;
    healthz_during_p50_ms: number;
    healthz_during_p99_ms: number;
    healthz_during_max_ms: number;
  };
  gunzip_docker_cp: { seconds: number; mib_per_s: number };
  docker_cp: { seconds: number; mib_per_s: number; tar_bytes: number };
  docker_cp_gzip: { seconds: number; mib_per_s: number; gzip_bytes: number };
  ratios: {
    /** panel throughput / docker cp's (tar, no compression) */
    throughput_vs_docker_cp: number;
    /** panel throughput / docker cp | gzip's */
    throughput_vs_docker_cp_gzip: number;
    /** peak RSS during / RSS before */
    rss_during_over_before: number;
    /** /healthz p99 during the backup / just before it */
    healthz_p99_during_over_idle: number;
    /** restore throughput / `gzip -dc | docker cp -`'s */
    restore_vs_gunzip_docker_cp: number;
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

/** Makes a peak of `pid`'s RSS measurable from now on: resets its VmHWM when the kernel lets us. */
function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/**
 * `pid`'s RSS before `work`, its peak during it (the kernel's VmHWM when it could be reset, and the
 * samples every `sampleMs` all the same) and /healthz latencies meanwhile.
 */
async function watched<T>(
  pid: number,
  url: string,
  sampleMs: number,
  work: () => Promise<T>,
): Promise<{
  value: T;
  beforeKiB: number;
  peakKiB: number;
  samples: number;
  hwm: boolean;
  latencies: number[];
}> {
  const hwm = resetPeak(pid);
  const beforeKiB = memoryOf(pid).rssKiB;
  let peakKiB = beforeKiB;
  let samples = 0;
  const sampler = setInterval(() => {
    peakKiB = Math.max(peakKiB, memoryOf(pid).rssKiB);
    samples++;
  }, sampleMs);
  let probing = true;
  const latencies: number[] = [];
  const probe = (async () => {
    for (let i = 0; probing && i < 100_000; i++) {
      latencies.push(await healthzMs(url));
      await Bun.sleep(50);
    }
  })();
  try {
    const value = await work();
    const m = memoryOf(pid);
    peakKiB = Math.max(peakKiB, m.rssKiB, hwm ? m.hwmKiB : 0);
    return { value, beforeKiB, peakKiB, samples, hwm, latencies };
  } finally {
    clearInterval(sampler);
    probing = false;
    await probe;
  }
}

async function healthzMs(url: string): Promise<number> {
  const t0 = performance.now();
  await (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(60_000) })).arrayBuffer();
  return performance.now() - t0;
}

/** `docker cp` of the same volume (plain, and through gzip -6) and `gzip -dc | docker cp -` of the panel's backup. */
async function baselines(volume: string, restored: string, gzFile: string) {
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
  // The restore's baseline writes the panel's backup into an empty volume the same way.
  run(["docker", "volume", "rm", "-f", restored]);
  run(["docker", "volume", "create", "--label", LABEL, restored]);
  const sink = run([
    "docker",
    "create",
    "--label",
    LABEL,
    "--network",
    "none",
    "-v",
    `${restored}:/v`,
    IMAGE,
    "true",
  ]);
  defer(`container ${sink}`, async () => {
    Bun.spawnSync(["docker", "rm", "-f", sink]);
  });
  const t2 = performance.now();
  // The backup's tar holds "./…" entries: unpacked at /v they land in the volume.
  run(["sh", "-c", `gzip -dc ${gzFile} | docker cp - ${sink}:/v`]);
  const gunzipCpSeconds = (performance.now() - t2) / 1000;
  run(["docker", "rm", "-f", sink]);
  return { cp, cpGzip, gunzipCpSeconds };
}

export async function benchVolumeBackup(
  target: Target,
  s: VolumeBackupSettings,
): Promise<VolumeBackupResult> {
  const volume = `${NAME_PREFIX}backup`;
  const small = `${NAME_PREFIX}warmup`;
  const restored = `${NAME_PREFIX}restored`;
  const warmRestored = `${NAME_PREFIX}warm-restored`;
  defer(`volumes ${volume}, ${small}, ${restored}, ${warmRestored}`, async () => {
    Bun.spawnSync(["docker", "volume", "rm", "-f", volume, small, restored, warmRestored]);
  });
  // Left by an earlier run in the same process (bench/volume-compare.ts runs this again and again).
  Bun.spawnSync(["docker", "volume", "rm", "-f", volume, small, restored, warmRestored]);
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
    `head -c ${s.warmBytes} /dev/urandom > /d/x`,
  ]);
  const volumeBytes = per * s.files + 6;

  const dir = tempDir("volumes");
  const panel = await startPanel({ target, dataDir: `${dir}/data`, tls: "off", workDir: dir });
  const backupOf = (name: string) =>
    fetch(`${panel.url}/api/v1/envs/local/volumes/${name}/backup`, {
      headers: { authorization: `Bearer ${panel.token}` },
    });
  const drain = async (res: Response, into?: string) => {
    if (res.status !== 200) throw new Error(`backup: ${res.status} ${await res.text()}`);
    let n = 0;
    const file = into ? Bun.file(into).writer() : undefined;
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.length;
      if (file) {
        file.write(value);
        await file.flush();
      }
    }
    await file?.end();
    return n;
  };
  const pid = panel.child.pid;
  await Bun.sleep(1_000);
  const cold = memoryOf(pid).rssKiB;
  // Warm: the helper image imported, a backup's code and buffers in use once, then a moment of rest.
  log(`volumes: warming the panel with a ${(s.warmBytes / MIB).toFixed(0)} MiB backup`);
  const warmGz = `${dir}/warm.tar.gz`;
  await drain(await backupOf(small), warmGz);
  await Bun.sleep(2_000);
  const idle: number[] = [];
  for (let i = 0; i < 40; i++) {
    idle.push(await healthzMs(panel.url));
    await Bun.sleep(50);
  }
  log("volumes: backing up through the panel");
  const gzFile = `${dir}/backup.tar.gz`;
  const t0 = performance.now();
  const during = await watched(pid, panel.url, s.sampleMs, async () => drain(await backupOf(volume), gzFile));
  const panelSeconds = (performance.now() - t0) / 1000;
  const gzipBytes = during.value;
  const before = during.beforeKiB;
  const peak = during.peakKiB;
  await Bun.sleep(1_000);
  const after = memoryOf(pid).rssKiB;

  const restoreInto = async (name: string, file: string) => {
    const res = await fetch(`${panel.url}/api/v1/envs/local/volumes/${name}/restore?create=true`, {
      method: "POST",
      headers: { authorization: `Bearer ${panel.token}`, "content-type": "application/gzip" },
      body: Bun.file(file),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`restore: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as { verified: boolean; bytes: number };
  };
  // Warm for the restore as for the backup: a restore's code and buffers in use once.
  log("volumes: warming the panel with a restore of the warm-up backup");
  await restoreInto(warmRestored, warmGz);
  await Bun.sleep(2_000);
  log("volumes: restoring the backup into a new volume through the panel");
  const t1 = performance.now();
  const back = await watched(pid, panel.url, s.sampleMs, () => restoreInto(restored, gzFile));
  const restoreSeconds = (performance.now() - t1) / 1000;
  await panel.child.stop();
  const none = { seconds: Number.NaN, bytes: Number.NaN };
  const { cp, cpGzip, gunzipCpSeconds } =
    s.baselines === false
      ? { cp: none, cpGzip: none, gunzipCpSeconds: Number.NaN }
      : await baselines(volume, restored, gzFile);
  rmSync(gzFile, { force: true });

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
      samples: during.samples,
      peak_from_hwm: during.hwm,
      healthz_idle_p50_ms: round(percentile(idle, 50), 1),
      healthz_idle_p99_ms: round(percentile(idle, 99), 1),
      healthz_during_p50_ms: round(percentile(during.latencies, 50), 1),
      healthz_during_p99_ms: round(percentile(during.latencies, 99), 1),
      healthz_during_max_ms: round(Math.max(...during.latencies), 1),
    },
    restore: {
      seconds: round(restoreSeconds, 2),
      mib_per_s: round(rate(restoreSeconds), 1),
      verified: back.value.verified,
      bytes: back.value.bytes,
      rss_before_mib: round(back.beforeKiB / 1024, 1),
      rss_peak_during_mib: round(back.peakKiB / 1024, 1),
      rss_growth_mib: round((back.peakKiB - back.beforeKiB) / 1024, 1),
      healthz_during_p50_ms: round(percentile(back.latencies, 50), 1),
      healthz_during_p99_ms: round(percentile(back.latencies, 99), 1),
      healthz_during_max_ms: round(Math.max(...back.latencies), 1),
    },
    gunzip_docker_cp: { seconds: round(gunzipCpSeconds, 2), mib_per_s: round(rate(gunzipCpSeconds), 1) },
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
      healthz_p99_during_over_idle: round(percentile(during.latencies, 99) / percentile(idle, 99)),
      restore_vs_gunzip_docker_cp: round(gunzipCpSeconds / restoreSeconds),
    },
  };
}
