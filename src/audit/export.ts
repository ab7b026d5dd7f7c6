import type { AuditEntry, AuditFilter, AuditLog } from "./audit-log.ts";

export type ExportFormat = "jsonl" | "csv";

export const EXPORT_TYPES: Record<ExportFormat, string> = {
  jsonl: "application/jsonl; charset=utf-8",
  csv: "text/csv; charset=utf-8",
};

// Read a page at a time, each page a fresh query: no statement stays open across the awaits of a
// slow download, and appends made meanwhile do not disturb the cursor (ids only grow).
const PAGE = 500;

const CSV_COLUMNS: (keyof AuditEntry)[] = [
  "id",
  "at",
  "user_id",
  "username",
  "address",
  "env",
  "action",
  "target",
  "result",
  "status",
  "detail",
];

/** Every entry that matches, newest first, as JSON lines or CSV with a header row. */
export function exportAudit(
  log: AuditLog,
  filter: AuditFilter,
  format: ExportFormat,
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let before = filter.before;
  let header = format === "csv";
  return new ReadableStream({
    pull(controller) {
      let text = "";
      if (header) {
        text = csvRow(CSV_COLUMNS);
        header = false;
      }
      const page = log.query({ ...filter, before }, PAGE);
      for (const e of page) text += format === "csv" ? csvRow(csvCells(e)) : `${JSON.stringify(e)}\n`;
      if (text) controller.enqueue(encoder.encode(text));
      if (page.length < PAGE) controller.close();
      else before = page[page.length - 1]!.id;
    },
  });
}

function csvCells(e: AuditEntry): string[] {
  // The time as ISO 8601 in UTC: a spreadsheet reads it, a person too.
  return CSV_COLUMNS.map((k) => (k === "at" ? new Date(e.at).toISOString() : String(e[k] ?? "")));
}

/** One RFC 4180 record (CRLF-terminated). */
export function csvRow(cells: readonly string[]): string {
  return `${cells.map(csvCell).join(",")}\r\n`;
}

function csvCell(value: string): string {
  // A cell a spreadsheet would run as a formula (CSV injection) is made text by a leading quote;
  // tab and CR count too, as OWASP lists them.
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
