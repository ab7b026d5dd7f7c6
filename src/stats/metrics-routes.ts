import { callerOf } from "../auth/middleware.ts";
import type { Policy } from "../auth/policy.ts";
import type { Environments } from "../envs/environments.ts";
import { ApiError } from "../http/errors.ts";
import type { RouteTable } from "../http/route-table.ts";
import { errorResponse } from "../http/schemas.ts";
import { streamCounters } from "../stream/websocket.ts";
import type { StatsCollectors } from "./collectors.ts";
import { visibleFigures } from "./visible.ts";

const started = Date.now();

// Prometheus' text format: label values escape backslash, double quote and newline.
const label = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

class Exposition {
  private lines: string[] = [];

  metric(
    name: string,
    type: "gauge" | "counter",
    help: string,
    samples: [Record<string, string>, number][],
  ): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const l = Object.entries(labels)
        .map(([k, v]) => `${k}="${label(v)}"`)
        .join(",");
      this.lines.push(`${name}${l ? `{${l}}` : ""} ${Number.isFinite(value) ? value : 0}`);
    }
  }

  toString(): string {
    return `${this.lines.join("\n")}\n`;
  }
}

/** GET /metrics: the panel's own figures and every container's, for Prometheus; bearer token only. */
export function metricsRoutes(
  routes: RouteTable,
  {
    policy,
    envs,
    collectors,
    version,
  }: { policy: Policy; envs: Environments; collectors: StatsCollectors; version: string },
): void {
  routes.add(
    {
      method: "get",
      path: "/metrics",
      tag: "stats",
      policy: "metrics:read",
      summary: "Prometheus text format: the panel's own figures and per-container figures (bearer token)",
      responses: { 200: "Prometheus exposition", 401: errorResponse("No valid bearer token") },
    },
    (c) => {
      // Scrapers use tokens; a browser session has no business here.
      const caller = callerOf(c);
      if (caller.via !== "token")
        throw new ApiError(401, "unauthorized", "send an API token as 'Authorization: Bearer <token>'");
      const out = new Exposition();
      out.metric("ghostpanel_build_info", "gauge", "Version of this panel.", [[{ version }, 1]]);
      out.metric("ghostpanel_uptime_seconds", "gauge", "Seconds since the panel started.", [
        [{}, Math.round((Date.now() - started) / 1000)],
      ]);
      out.metric("ghostpanel_resident_memory_bytes", "gauge", "Resident memory of the panel.", [
        [{}, process.memoryUsage().rss],
      ]);
      out.metric("ghostpanel_stream_connections", "gauge", "Open live-stream connections.", [
        [{}, streamCounters.connections],
      ]);
      const list = envs.list().filter((e) => policy.can(caller, "metrics:read", { env: e.id }));
      out.metric(
        "ghostpanel_engine_up",
        "gauge",
        "1 when the panel reaches the engine.",
        list.map((e) => [{ env: e.id }, e.status === "up" ? 1 : 0]),
      );
      const rows = list.flatMap((e) => {
        const collector = collectors.get(e.id);
        if (!collector) return [];
        const figures = visibleFigures(envs.get(e.id), policy.audience(caller, e.id), [...collector.now()]);
        return figures.map((s) => ({ env: e.id, s }));
      });
      const per = (
        name: string,
        type: "gauge" | "counter",
        help: string,
        pick: (s: (typeof rows)[0]["s"]) => number,
      ) =>
        out.metric(
          name,
          type,
          help,
          rows.map(({ env, s }) => [{ env, id: s.id, name: s.name }, pick(s)]),
        );
      per(
        "ghostpanel_container_cpu_percent",
        "gauge",
        "CPU use as docker stats shows it.",
        (s) => s.cpu_percent,
      );
      per(
        "ghostpanel_container_memory_usage_bytes",
        "gauge",
        "Memory in use, inactive file cache excluded.",
        (s) => s.mem_usage,
      );
      per(
        "ghostpanel_container_memory_limit_bytes",
        "gauge",
        "Memory limit (the host's memory when none).",
        (s) => s.mem_limit,
      );
      per("ghostpanel_container_network_receive_bytes_total", "counter", "Bytes received.", (s) => s.net_rx);
      per("ghostpanel_container_network_transmit_bytes_total", "counter", "Bytes sent.", (s) => s.net_tx);
      per(
        "ghostpanel_container_block_read_bytes_total",
        "counter",
        "Bytes read from block devices.",
        (s) => s.blk_read,
      );
      per(
        "ghostpanel_container_block_write_bytes_total",
        "counter",
        "Bytes written to block devices.",
        (s) => s.blk_write,
      );
      per("ghostpanel_container_pids", "gauge", "Processes and threads.", (s) => s.pids);
      return c.text(out.toString(), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
    },
  );
}
