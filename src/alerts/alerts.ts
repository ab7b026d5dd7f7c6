import type { Database } from "bun:sqlite";
import type { Environments } from "../envs/environments.ts";
import type { SecretVault } from "../secrets/vault.ts";
import type { StatsCollectors } from "../stats/collectors.ts";
import { writeHealth } from "../store/write-health.ts";
import { AlertEvaluator } from "./evaluator.ts";
import { AlertStore } from "./store.ts";
import { WebhookSender } from "./webhooks.ts";

/** Alerting, whole: its store, the evaluator that fires and resolves, and the webhook sender. */
export class Alerts {
  readonly store: AlertStore;
  readonly sender: WebhookSender;
  readonly evaluator: AlertEvaluator;

  constructor(db: Database, vault: SecretVault, envs: Environments, collectors: StatsCollectors) {
    this.store = new AlertStore(db, vault);
    this.sender = new WebhookSender(this.store);
    this.evaluator = new AlertEvaluator(this.store, this.sender, envs, collectors, writeHealth(db));
  }

  stop(): void {
    this.evaluator.stop();
    this.sender.stop();
  }
}
