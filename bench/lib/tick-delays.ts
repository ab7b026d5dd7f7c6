/** A frame a client applied: its tick's `t` (when the panel read the tick) and when it was applied. */
export interface Applied {
  t: number;
  at: number;
}

/**
 * For each tick `t` of `ticks` (ascending): how long until the client had applied that tick or a
 * newer one (a lost tick is made up by the next frame that came); `end` − `t` for a tick nothing
 * made up.
 */
export function tickDelays(applied: Applied[], ticks: number[], end: number): number[] {
  // Newest first, keeping for each frame the earliest time anything at least as new was applied.
  const byT = [...applied].sort((a, b) => b.t - a.t);
  let earliest = Number.POSITIVE_INFINITY;
  const shownBy: Applied[] = [];
  for (const a of byT) {
    earliest = Math.min(earliest, a.at);
    shownBy.push({ t: a.t, at: earliest });
  }
  shownBy.reverse();
  let i = 0;
  return ticks.map((t) => {
    while (i < shownBy.length && shownBy[i]!.t < t) i++;
    return (i < shownBy.length ? shownBy[i]!.at : end) - t;
  });
}
