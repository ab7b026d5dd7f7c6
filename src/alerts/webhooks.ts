import type { Alert, Webhook } from "../protocol/alerts.ts";
import type { AlertStore } from "./store.ts";

export type WebhookEvent = "firing" | "resolved" | "test";

/** Attempts per delivery, and the wait before each retry (doubling): 1 s, 2 s, 4 s, 8 s. */
const ATTEMPTS = 5;
const FIRST_BACKOFF_MS = 1_000;
const TIMEOUT_MS = 5_000;

/** What a receiver gets: one JSON object per alert event. */
export function payloadOf(event: WebhookEvent, alert: Alert): object {
  return {
    source: "ghostpanel",
    event,
    alert: {
      id: alert.id,
      rule_id: alert.rule_id,
      rule: alert.rule,
      kind: alert.kind,
      env: alert.env,
      container: alert.container,
      app: alert.labels["vesla.managed"] === "true" ? (alert.labels["vesla.app"] ?? null) : null,
      message: alert.message,
      state: alert.state,
      started_at: new Date(alert.started_at).toISOString(),
      resolved_at: alert.resolved_at === null ? null : new Date(alert.resolved_at).toISOString(),
    },
  };
}

/**
 * Sends alert events to webhooks: a JSON POST, a 2xx is delivered; anything else (another status,
 * a redirect — never followed —, no answer within 5 s) is retried with a doubling backoff, and
 * every attempt is written to the delivery log. Deliveries run on their own; an alert never waits.
 */
export class WebhookSender {
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private stopped = false;

  constructor(
    private readonly store: AlertStore,
    private readonly backoffMs = FIRST_BACKOFF_MS,
  ) {}

  send(hook: Webhook, event: WebhookEvent, alert: Alert): void {
    const body = JSON.stringify(payloadOf(event, alert));
    const attempt = async (n: number) => {
      const url = this.store.webhookUrl(hook.id);
      // Removed meanwhile: nothing more to send it.
      if (this.stopped || url === undefined) return;
      const result = await post(url, body);
      if (this.stopped) return;
      // The alert (its rule removed) or the webhook may be gone by now: then the delivery ends.
      const logged = this.store.logDelivery({
        alert_id: alert.id,
        webhook_id: hook.id,
        event,
        attempt: n,
        ...result,
      });
      if (!logged || result.ok || n >= ATTEMPTS) return;
      const timer = setTimeout(
        () => {
          this.timers.delete(timer);
          run(n + 1);
        },
        this.backoffMs * 2 ** (n - 1),
      );
      this.timers.add(timer);
    };
    const run = (n: number) =>
      void attempt(n).catch((err) =>
        console.error(`ghostpanel: webhook "${hook.name}", attempt ${n}: ${(err as Error).message}`),
      );
    run(1);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

async function post(
  url: string,
  body: string,
): Promise<{ status: number | null; ok: boolean; error: string }> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "GhostPanel-alerts" },
      body,
      redirect: "manual",
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await res.body?.cancel();
    const ok = res.status >= 200 && res.status < 300;
    return { status: res.status, ok, error: ok ? "" : `HTTP ${res.status}` };
  } catch (err) {
    return { status: null, ok: false, error: (err as Error).message.slice(0, 500) };
  }
}
