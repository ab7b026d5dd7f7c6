import type { Database } from "bun:sqlite";
import type { ContainerChange } from "../containers/mirror.ts";
import type { ContainerView } from "../containers/view.ts";
import type { Environments } from "../envs/environments.ts";
import { appOf, type Deployment } from "../protocol/apps.ts";
import { type WriteHealth, writeHealth } from "../store/write-health.ts";

export type { Deployment };

interface Held {
  container_id: string;
  image: string;
  image_id: string;
}

/** The audit log's entry for a create through the panel comes after the engine's event: looked up this late. */
const ATTRIBUTE_AFTER_MS = 2_000;
/** How far back a create counts as the one that made the container. */
const CREATE_WINDOW_MS = 120_000;
const CREATE_ACTION = "POST /api/v1/envs/{env}/containers";
const COLUMNS =
  "id, at, env, name, app, container_id, old_container_id, old_image, old_image_id, new_image, new_image_id, labels, user_id, username";

/**
 * Deployment history, from the container mirrors: whenever a container name is held by a new
 * container running a different image (Vesla's deployer removes the old one and creates one of
 * the same name), an entry is kept. What each name last ran is stored too, so a deployment made
 * while the panel was down is seen at its next start, and one made outside the panel is seen at all.
 */
export class DeployHistory {
  private readonly health: WriteHealth;
  private timers = new Set<ReturnType<typeof setTimeout>>();
  private listeners = new Set<(d: Deployment) => void>();
  private stopped = false;

  constructor(
    private readonly db: Database,
    envs: Environments,
  ) {
    this.health = writeHealth(db);
    envs.onContainers((envId, change) => this.follow(envId, change));
  }

  onDeployment(listener: (d: Deployment) => void): void {
    this.listeners.add(listener);
  }

  /** Newest first; by container name or by app on one engine. */
  query(
    env: string,
    by: { name?: string | undefined; app?: string | undefined },
    limit: number,
  ): Deployment[] {
    const where = by.app !== undefined ? "app = ?" : "name = ?";
    const rows = this.db
      .query(`SELECT ${COLUMNS} FROM deploy_history WHERE env = ? AND ${where} ORDER BY id DESC LIMIT ?`)
      .all(env, by.app ?? by.name ?? "", limit) as (Omit<Deployment, "labels"> & { labels: string })[];
    return rows.map((r) => ({ ...r, labels: JSON.parse(r.labels) as Record<string, string> }));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private follow(env: string, change: ContainerChange): void {
    if (this.stopped) return;
    if (change.kind === "snapshot") for (const c of change.containers) this.seen(env, c);
    else if (change.kind === "upsert") this.seen(env, change.container);
    // A removal keeps what the name ran: the container that takes the name next is compared with it.
  }

  private seen(env: string, c: ContainerView): void {
    if (!c.image_id) return;
    this.health.tolerate("deployment history", () => {
      const held = this.db
        .query("SELECT container_id, image, image_id FROM deploy_state WHERE env = ? AND name = ?")
        .get(env, c.name) as Held | null;
      if (held?.container_id === c.id && held.image_id === c.image_id) return;
      this.db
        .query(
          `INSERT INTO deploy_state (env, name, container_id, image, image_id, app) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (env, name) DO UPDATE SET container_id = excluded.container_id, image = excluded.image,
             image_id = excluded.image_id, app = excluded.app`,
        )
        .run(env, c.name, c.id, c.image, c.image_id, appOf(c) ?? null);
      if (!held || held.container_id === c.id) return;
      if (held.image_id === c.image_id && held.image === c.image) return;
      const at = Date.now();
      const row = this.db
        .query(
          `INSERT INTO deploy_history (at, env, name, app, container_id, old_container_id, old_image, old_image_id,
             new_image, new_image_id, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        )
        .get(
          at,
          env,
          c.name,
          appOf(c) ?? null,
          c.id,
          held.container_id,
          held.image,
          held.image_id,
          c.image,
          c.image_id,
          JSON.stringify(c.labels),
        ) as { id: number };
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        this.attribute(row.id, env, c.name, at);
      }, ATTRIBUTE_AFTER_MS);
      this.timers.add(timer);
    });
  }

  /** The user whose create through the panel made this container, from the audit log; then it is announced. */
  private attribute(id: number, env: string, name: string, at: number): void {
    if (this.stopped) return;
    this.health.tolerate("deployment history", () => {
      const who = this.db
        .query(
          `SELECT user_id, username FROM audit_log WHERE env = ? AND action = ? AND result = 'ok'
             AND at >= ? AND at <= ? AND (target = ? OR target LIKE ? ESCAPE '\\') ORDER BY id DESC LIMIT 1`,
        )
        .get(
          env,
          CREATE_ACTION,
          at - CREATE_WINDOW_MS,
          at + ATTRIBUTE_AFTER_MS * 2,
          `name=${name}`,
          `${likeEscape(`name=${name}`)} %`,
        ) as { user_id: number | null; username: string } | null;
      if (who) {
        this.db
          .query("UPDATE deploy_history SET user_id = ?, username = ? WHERE id = ?")
          .run(who.user_id, who.username, id);
      }
      const entry = this.db.query(`SELECT ${COLUMNS} FROM deploy_history WHERE id = ?`).get(id) as
        | (Omit<Deployment, "labels"> & { labels: string })
        | null;
      if (entry) for (const l of this.listeners) l({ ...entry, labels: JSON.parse(entry.labels) });
    });
  }
}

function likeEscape(text: string): string {
  return text.replace(/[\\%_]/g, "\\$&");
}
