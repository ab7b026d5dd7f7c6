import "./host-panel.css";
import { useRef } from "preact/hooks";
import { formatBytes, formatRate } from "../../lib/units.ts";
import { Gauge, Sparkline, sparkPoints } from "./sparkline.tsx";
import { useHost } from "./stats.ts";

const SPARK_SLOTS = 60;

interface Props {
  /** Where the host's graphs are, when they are not on this page. */
  graphsHref?: string;
}

/** The machine a local engine runs on; nothing at all for an engine elsewhere. */
export function HostPanel({ graphsHref }: Props) {
  const cpu = useRef<number[]>([]);
  const net = useRef<number[]>([]);
  const host = useHost((f) => {
    push(cpu.current, f.cpu_percent);
    push(net.current, f.net_rx_rate + f.net_tx_rate);
  });
  if (host.unavailable) return null;
  const f = host.figures;
  const memShare = f && f.mem_total > 0 ? f.mem_used / f.mem_total : 0;
  return (
    <section class="host" data-testid="host-panel" aria-label="Host">
      {graphsHref && (
        <div class="host-head">
          <h2>Host</h2>
          <a href={graphsHref}>Graphs →</a>
        </div>
      )}
      <div class="tile">
        <h2>CPU</h2>
        <p class="big" data-testid="host-cpu">
          {f ? `${f.cpu_percent.toFixed(1)}%` : "—"}
        </p>
        <p class="muted">{f ? `of ${f.ncpu} CPU${f.ncpu === 1 ? "" : "s"}` : "\u00a0"}</p>
        <Sparkline points={sparkPoints(cpu.current, SPARK_SLOTS, 100)} label="Host CPU, last minute" />
      </div>
      <div class="tile">
        <h2>Memory</h2>
        <p class="big">{f ? `${(memShare * 100).toFixed(0)}%` : "—"}</p>
        <p class="muted">{f ? `${formatBytes(f.mem_used)} of ${formatBytes(f.mem_total)}` : "\u00a0"}</p>
        <Gauge fraction={memShare} label="Memory in use" />
      </div>
      <div class="tile">
        <h2>Load</h2>
        <p class="big">{f ? f.load[0].toFixed(2) : "—"}</p>
        <p class="muted">{f ? `5m ${f.load[1].toFixed(2)} · 15m ${f.load[2].toFixed(2)}` : "\u00a0"}</p>
        {f && <Gauge fraction={f.load[0] / Math.max(1, f.ncpu)} label="1-minute load per CPU" />}
      </div>
      <div class="tile">
        <h2>Network</h2>
        <p class="rates">
          <span>
            <span class="arrow rx">↓</span> {f ? formatRate(f.net_rx_rate) : "—"}
          </span>
          <span>
            <span class="arrow tx">↑</span> {f ? formatRate(f.net_tx_rate) : "—"}
          </span>
        </p>
        <Sparkline points={sparkPoints(net.current, SPARK_SLOTS, 1024)} label="Host network, last minute" />
      </div>
      {f && f.disks.length > 0 && (
        <div class="tile disks">
          <h2>Disks</h2>
          {f.disks.map((d) => (
            <div class="disk" key={d.path}>
              <span class="disk-path mono" title={d.path}>
                {d.path}
              </span>
              <span class="muted">
                {formatBytes(d.used)} / {formatBytes(d.total)}
              </span>
              <Gauge fraction={d.total > 0 ? d.used / d.total : 0} label={`${d.path} in use`} />
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

function push(values: number[], v: number): void {
  values.push(v);
  if (values.length > SPARK_SLOTS) values.shift();
}
