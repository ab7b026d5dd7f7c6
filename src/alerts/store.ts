import type { Database } from "bun:sqlite";
import type { Alert, AlertRule, Delivery, RuleKind, Webhook } from "../protocol/alerts.ts";
import type { SecretVault } from "../secrets/vault.ts";

type RuleRow = Omit<AlertRule, "webhooks" | "enabled"> & { webhooks: string; enabled: number };
type AlertRow = Omit<Alert, "labels" | "silenced"> & { labels: string; silenced: number };
const ALERT_COLUMNS = `a.id, a.rule_id, r.name AS rule, a.env, a.container, a.labels, a.kind, a.message, a.state,
  a.started_at, a.resolved_at, a.silenced, a.acked_by, a.acked_at`;

export type NewRule = Omit<AlertRule, "id" | "created_at" | "silenced_until">;

/**
 * Rules, webhooks, alerts and every delivery attempt, in SQLite. A webhook's URL often carries its
 * credential (a Slack or Discord hook's path is one): it is sealed in the vault, and the API shows
 * only its origin (`url`), never the whole of it.
 */
export class AlertStore {
  constructor(
    private readonly db: Database,
    private readonly vault: SecretVault,
  ) {}

  rules(): AlertRule[] {
    return (this.db.query("SELECT * FROM alert_rules ORDER BY id").all() as RuleRow[]).map(ruleOf);
  }

  rule(id: number): AlertRule | undefined {
    const row = this.db.query("SELECT * FROM alert_rules WHERE id = ?").get(id) as RuleRow | null;
    return row ? ruleOf(row) : undefined;
  }

  addRule(r: NewRule): AlertRule {
    const { id } = this.db
      .query(
        `INSERT INTO alert_rules (name, kind, env, target, threshold, for_seconds, webhooks, enabled, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
      )
      .get(
        r.name,
        r.kind,
        r.env,
        r.target,
        r.threshold,
        r.for_seconds,
        JSON.stringify(r.webhooks),
        r.enabled ? 1 : 0,
        Date.now(),
      ) as { id: number };
    return this.rule(id)!;
  }

  updateRule(id: number, r: NewRule): void {
    this.db
      .query(
        `UPDATE alert_rules SET name = ?, kind = ?, env = ?, target = ?, threshold = ?, for_seconds = ?,
           webhooks = ?, enabled = ? WHERE id = ?`,
      )
      .run(
        r.name,
        r.kind,
        r.env,
        r.target,
        r.threshold,
        r.for_seconds,
        JSON.stringify(r.webhooks),
        r.enabled ? 1 : 0,
        id,
      );
  }

  removeRule(id: number): boolean {
    return this.db.query("DELETE FROM alert_rules WHERE id = ?").run(id).changes > 0;
  }

  silence(id: number, until: number): void {
    this.db.query("UPDATE alert_rules SET silenced_until = ? WHERE id = ?").run(until, id);
  }

  webhooks(): Webhook[] {
    return this.db.query("SELECT id, name, url, created_at FROM webhooks ORDER BY id").all() as Webhook[];
  }

  webhook(id: number): Webhook | undefined {
    return (
      (this.db
        .query("SELECT id, name, url, created_at FROM webhooks WHERE id = ?")
        .get(id) as Webhook | null) ?? undefined
    );
  }

  /** The whole URL, to send to; undefined when the webhook is gone. */
  webhookUrl(id: number): string | undefined {
    return this.vault.get(webhookOwner(id));
  }

  /** undefined when the name is taken */
  addWebhook(name: string, url: string): Webhook | undefined {
    const shown = `${new URL(url).origin}/…`;
    return this.db.transaction(() => {
      const row = this.db
        .query(
          "INSERT INTO webhooks (name, url, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        )
        .get(name, shown, Date.now()) as { id: number } | null;
      if (!row) return undefined;
      this.vault.put(webhookOwner(row.id), url);
      return this.webhook(row.id);
    })();
  }

  removeWebhook(id: number): boolean {
    return this.db.transaction(() => {
      this.vault.delete(webhookOwner(id));
      return this.db.query("DELETE FROM webhooks WHERE id = ?").run(id).changes > 0;
    })();
  }

  fire(
    rule: AlertRule,
    env: string,
    container: string,
    labels: Record<string, string>,
    message: string,
  ): Alert {
    const { id } = this.db
      .query(
        `INSERT INTO alerts (rule_id, env, container, labels, kind, message, state, started_at, silenced)
         VALUES (?, ?, ?, ?, ?, ?, 'firing', ?, ?) RETURNING id`,
      )
      .get(
        rule.id,
        env,
        container,
        JSON.stringify(labels),
        rule.kind,
        message,
        Date.now(),
        rule.silenced_until > Date.now() ? 1 : 0,
      ) as { id: number };
    return this.alert(id)!;
  }

  resolve(id: number): Alert | undefined {
    this.db
      .query("UPDATE alerts SET state = 'resolved', resolved_at = ? WHERE id = ? AND state = 'firing'")
      .run(Date.now(), id);
    return this.alert(id);
  }

  ack(id: number, username: string): Alert | undefined {
    this.db
      .query("UPDATE alerts SET acked_by = ?, acked_at = ? WHERE id = ? AND acked_at IS NULL")
      .run(username, Date.now(), id);
    return this.alert(id);
  }

  alert(id: number): Alert | undefined {
    const row = this.db
      .query(`SELECT ${ALERT_COLUMNS} FROM alerts a JOIN alert_rules r ON r.id = a.rule_id WHERE a.id = ?`)
      .get(id) as AlertRow | null;
    return row ? alertOf(row) : undefined;
  }

  /** Firing ones first, then the newest; at most `limit`. */
  alerts(limit: number): Alert[] {
    return (
      this.db
        .query(
          `SELECT ${ALERT_COLUMNS} FROM alerts a JOIN alert_rules r ON r.id = a.rule_id
           ORDER BY a.state = 'firing' DESC, a.id DESC LIMIT ?`,
        )
        .all(limit) as AlertRow[]
    ).map(alertOf);
  }

  firing(): Alert[] {
    return (
      this.db
        .query(
          `SELECT ${ALERT_COLUMNS} FROM alerts a JOIN alert_rules r ON r.id = a.rule_id WHERE a.state = 'firing'`,
        )
        .all() as AlertRow[]
    ).map(alertOf);
  }

  /** false when the alert or the webhook is gone (a rule or webhook removed meanwhile): nothing to retry for. */
  logDelivery(d: Omit<Delivery, "id" | "at">): boolean {
    return (
      this.db
        .query(
          `INSERT INTO alert_deliveries (alert_id, webhook_id, event, attempt, at, status, ok, error)
           SELECT ?, ?, ?, ?, ?, ?, ?, ?
           WHERE EXISTS (SELECT 1 FROM alerts WHERE id = ?) AND EXISTS (SELECT 1 FROM webhooks WHERE id = ?)`,
        )
        .run(
          d.alert_id,
          d.webhook_id,
          d.event,
          d.attempt,
          Date.now(),
          d.status,
          d.ok ? 1 : 0,
          d.error,
          d.alert_id,
          d.webhook_id,
        ).changes > 0
    );
  }

  deliveries(
    filter: { alert?: number | undefined; webhook?: number | undefined },
    limit: number,
  ): Delivery[] {
    const rows = this.db
      .query(
        `SELECT * FROM alert_deliveries WHERE (? IS NULL OR alert_id = ?) AND (? IS NULL OR webhook_id = ?)
         ORDER BY id DESC LIMIT ?`,
      )
      .all(
        filter.alert ?? null,
        filter.alert ?? null,
        filter.webhook ?? null,
        filter.webhook ?? null,
        limit,
      ) as (Omit<Delivery, "ok"> & { ok: number })[];
    return rows.map((r) => ({ ...r, ok: r.ok === 1 }));
  }
}

function webhookOwner(id: number): string {
  return `webhook:${id}:url`;
}

function ruleOf(r: RuleRow): AlertRule {
  return {
    ...r,
    kind: r.kind as RuleKind,
    webhooks: JSON.parse(r.webhooks) as number[],
    enabled: r.enabled === 1,
  };
}

function alertOf(r: AlertRow): Alert {
  return { ...r, labels: JSON.parse(r.labels) as Record<string, string>, silenced: r.silenced === 1 };
}
