export interface Budget {
  benchmark: string;
  metric: string;
  value: number;
  unit: string;
  /** "min": value must be ≥ limit; "max": value must be ≤ limit; "below": value must be < limit */
  kind: "min" | "max" | "below";
  limit: number;
  pass: boolean;
}

export function budget(
  benchmark: string,
  metric: string,
  value: number,
  unit: string,
  kind: Budget["kind"],
  limit: number,
): Budget {
  const pass =
    Number.isFinite(value) &&
    (kind === "min" ? value >= limit : kind === "max" ? value <= limit : value < limit);
  return { benchmark, metric, value, unit, kind, limit, pass };
}

export function describeBudget(b: Budget): string {
  const op = b.kind === "min" ? "≥" : b.kind === "max" ? "≤" : "<";
  return `${op} ${b.limit}${b.unit === "x" ? "x" : ` ${b.unit}`}`;
}

export interface Row {
  benchmark: string;
  metric: string;
  panel: string;
  baseline: string;
  ratio: string;
  budget?: Budget;
}

/** A plain-text table; columns sized to their content. */
export function table(rows: Row[]): string {
  const header = ["benchmark", "metric", "ghostpanel", "baseline", "ratio", "budget", "result"];
  const cells = rows.map((r) => [
    r.benchmark,
    r.metric,
    r.panel,
    r.baseline,
    r.ratio,
    r.budget ? describeBudget(r.budget) : "",
    r.budget ? (r.budget.pass ? "pass" : "OVER") : "",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...cells.map(line)].join("\n");
}
