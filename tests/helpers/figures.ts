import type { TickFigures } from "../../src/stats/frame-encoder.ts";

/** One container's figures for a tick: 10 MiB of 1 GiB, one process, nothing moving but `over`. */
export const tickFigures = (id: string, over: Partial<TickFigures> = {}): TickFigures => ({
  id,
  name: `c-${id}`,
  cpu_percent: 0,
  mem_usage: 10 * 1024 * 1024,
  mem_limit: 1024 * 1024 * 1024,
  net_rx_rate: 0,
  net_tx_rate: 0,
  blk_read_rate: 0,
  blk_write_rate: 0,
  pids: 1,
  ...over,
});
