/**
 * An engine answer or failure, reduced to what the API layer needs: the engine's HTTP status
 * (0 when it could not be reached) and its own message.
 */
export class EngineError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }

  get unreachable(): boolean {
    return this.status === 0;
  }
}

/** An engine's error answer over HTTP: its own message when it sent one (JSON or plain text). */
export function answerError(status: number, text: string, statusText = ""): EngineError {
  let message = text.trim() || statusText;
  try {
    message = (JSON.parse(text) as { message?: string }).message ?? message;
  } catch {
    // not JSON: Bolt's compat server and proxies answer in plain text
  }
  return new EngineError(status, message);
}

interface ModemError {
  statusCode?: number;
  json?: { message?: string } | Buffer | string | null;
  reason?: string;
  message?: string;
  code?: string;
}

export function toEngineError(err: unknown): EngineError {
  if (err instanceof EngineError) return err;
  const e = (err ?? {}) as ModemError;
  if (typeof e.statusCode === "number") {
    return new EngineError(e.statusCode, engineMessage(e));
  }
  return new EngineError(0, `engine unreachable: ${e.code ?? e.message ?? String(err)}`);
}

function engineMessage(e: ModemError): string {
  const body = e.json;
  if (body && typeof body === "object" && !Buffer.isBuffer(body) && typeof body.message === "string") {
    return body.message;
  }
  if (Buffer.isBuffer(body)) {
    const text = body.toString("utf8").trim();
    try {
      const parsed = JSON.parse(text) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      // not JSON: Bolt's compat server and proxies answer in plain text
    }
    if (text) return text;
  }
  if (typeof body === "string" && body.trim()) return body.trim();
  return e.reason ?? e.message ?? "engine error";
}
